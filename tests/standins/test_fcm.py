"""The FCM stand-in as a process of its own, as `make bench` runs it, driven over HTTP."""
import json
import subprocess
import sys

import requests

from common.embedded_db import free_port
from notifications import fcm as push
from tests.notifications.test_fcm import message
from tests.processes import ROOT, wait_until


def test_the_stand_in_runs_as_a_process_for_benchmarks(tmp_path):
    port = free_port()
    credentials = tmp_path / "sa.json"
    process = subprocess.Popen([sys.executable, "-m", "standins.fcm", "--port", str(port),
                                "--credentials-out", str(credentials)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def up():
            assert process.poll() is None, process.stdout.read().decode()
            try:
                return requests.get(url + "/_standin/stats", timeout=1).ok
            except requests.RequestException:
                return False

        wait_until(up, timeout=20)
        requests.post(url + "/_standin/behaviour", json={"unavailable": 1}, timeout=5)
        gateway = push.FcmGateway(service_account=json.loads(credentials.read_text()),
                                  base_url=url)
        try:
            results = gateway.send([message(), message()])
        finally:
            gateway.close()
        stats = requests.get(url + "/_standin/stats", timeout=5).json()
    finally:
        process.terminate()
        process.wait(10)

    assert sorted(r.outcome for r in results) == ["retry", "sent"]
    assert stats["accepted"] == 1 and stats["answered"] == {"200": 1, "503": 1}
