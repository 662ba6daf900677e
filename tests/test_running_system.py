"""`make run` is the whole system: the launcher alone, started as a newcomer starts it, tells the
parents' phone as each department finishes, keeps its children running, and stops them all."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from common.embedded_db import EmbeddedDatabase, free_port
from standins.fcm import FcmStandin
from tests.journey import Parent, complete_the_birth_certificate, first_task, wait_for
from tests.processes import ROOT, Launcher, port_open, wait_until

pytestmark = pytest.mark.slow

# Cheaper development accounts (the seed hashes sixteen passwords) and no assistant training:
# the same system, started sooner.
QUICK = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "1024",
         "PASSWORD_HASH_PARALLELISM": "1", "ASSISTANT_WARM_UP": "false"}
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def streamed(parent: Parent, url: str, type_: str, timeout: float = 15.0) -> bool:
    """Whether the citizen's event stream, read from its start, carries a notification of this
    type (the stream stays open: read until it shows)."""
    deadline = time.monotonic() + timeout
    with requests.get(url + "/api/v1/me/events", headers={**parent.http.headers,
                      "Last-Event-ID": "0"}, stream=True, timeout=timeout) as response:
        text = ""
        for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
            text += chunk
            if f'"type": "{type_}"' in text:
                return True
            if time.monotonic() > deadline:
                return False
    return False


def by_hand(*args: str, env: dict) -> subprocess.CompletedProcess:
    """A command a newcomer types beside `make run`, with no MONGODB_URI."""
    full = {**os.environ, "APP_ENV": "development", **QUICK, **env}
    full.pop("MONGODB_URI", None)
    return subprocess.run(FLASK + list(args), cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


def test_a_completed_task_reaches_the_inbox_and_the_phone_with_nothing_started_by_hand(tmp_path):
    with FcmStandin() as fcm:
        launcher = Launcher(free_port(), {
            "EMBEDDED_DB_PATH": str(tmp_path / "db"), **QUICK,
            "FCM_CREDENTIALS": fcm.write_service_account(tmp_path), "FCM_BASE_URL": fcm.url})
        try:
            launcher.wait_for_output("One Thing is running")
            launcher.wait_ready()
            banner = launcher.output()
            for name in ("db", "api", "worker", "sla-sweep", "materials-sweep"):
                assert f"{name} (" in banner.split("Processes")[1].splitlines()[0]
            parent = Parent(launcher.url)
            phone = parent.register_device()
            application = parent.apply_for_a_newborn()
            assert application["subject"]["relation"] == "child"  # the newborn, by default
            wait_for(lambda: parent.told("application_received"), timeout=60)

            done = complete_the_birth_certificate(launcher.url, application)
            task = first_task(application)
            wait_for(lambda: parent.told("task_completed", task["id"]), timeout=5)
            wait_for(lambda: any(m["data"]["type"] == "task_completed"
                                 for m in fcm.received_for(phone)), timeout=5)
            told_in = time.monotonic() - done
            pids = launcher.pids()
            db_port = launcher.database_port()

            started = time.monotonic()
            code = launcher.stop(signal.SIGINT)  # Ctrl-C
            stopped_in = time.monotonic() - started
        finally:
            launcher.stop()

    assert told_in < 5
    assert code == 0 and stopped_in < 10, launcher.output()[-3000:]
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert not port_open(db_port)
    assert not launcher.run_file.exists()
    assert "stopped everything in" in launcher.output()
    print(f"\ninbox and phone told {told_in:.2f} s after the completion; Ctrl-C stopped "
          f"{len(pids)} processes in {stopped_in:.2f} s")


def test_a_killed_worker_is_restarted_and_delivers_the_backlog(tmp_path):
    launcher = Launcher(free_port(), {"EMBEDDED_DB_PATH": str(tmp_path / "db"), **QUICK})
    try:
        launcher.wait_for_output("One Thing is running")
        launcher.wait_ready()
        parent = Parent(launcher.url)
        phone = parent.register_device()
        application = parent.apply_for_a_newborn()
        wait_for(lambda: parent.told("application_received"), timeout=60)

        worker = launcher.pids()["worker"]
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        # While no worker runs, a department finishes: the notification waits in the outbox.
        complete_the_birth_certificate(launcher.url, application)
        wait_until(lambda: launcher.pids()["worker"] != worker, timeout=15, interval=0.05)
        back_in = time.monotonic() - killed
        wait_for(lambda: parent.told("task_completed", first_task(application)["id"]),
                 timeout=30)
        delivered_in = time.monotonic() - killed
        assert streamed(parent, launcher.url, "task_completed")

        # A command run by hand beside it finds its database by itself.
        relay = by_hand("notifications", "relay", env={"EMBEDDED_DB_PATH": str(tmp_path / "db")})
        output = launcher.output()
    finally:
        launcher.stop()

    assert f"worker (pid {worker}) killed by SIGKILL" in output
    assert "restarting in 1 s (restart 1)" in output
    new_worker = output.split("worker restarted (pid ")[1].split(")")[0]
    assert int(new_worker) != worker
    # Without FCM credentials the push is logged, masked, and counts as sent.
    assert f"to device …{phone[-6:]}: " in output and "logged, not sent) task_completed" in output
    for secret in (phone, parent.phone, parent.id_number, parent.spouse_id_number):
        assert secret not in output
    assert relay.returncode == 0, relay.stderr
    assert "relayed" in relay.stdout and "Traceback" not in relay.stderr
    assert "using the database of the launcher running beside" in relay.stderr
    print(f"\nworker killed: restarted in {back_in:.2f} s, backlog delivered "
          f"{delivered_in:.2f} s after the kill")


def test_a_command_by_hand_on_a_database_held_elsewhere_says_what_to_set_in_one_line(tmp_path):
    holder = EmbeddedDatabase(tmp_path / "db")  # not a launcher: it leaves no run file
    holder.start()
    try:
        result = by_hand("notifications", "relay", env={"EMBEDDED_DB_PATH": str(tmp_path / "db")})
    finally:
        holder.stop()

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    [refusal] = [line for line in result.stderr.splitlines() if "cannot start" in line]
    assert "MONGODB_URI" in refusal and str(tmp_path / "db") in refusal
