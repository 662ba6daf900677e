"""The database dies in the middle of traffic and comes back.

What it proves: while citizens apply and officers claim and complete tasks through the API (on
threads of one process), the embedded database is SIGKILLed at random moments and restarted on
the same files. Every answer meanwhile is either what a working system answers or 503 with
Retry-After in the one error shape, never a 500, and no request waits out the outage; the same
process serves again once the database is back; and afterwards nothing is lost or doubled:
every acknowledged application is there, one per Idempotency-Key, none half-written; every
completed task has exactly one notification and its e-licences; every intent is delivered.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from common.embedded_db import EmbeddedDatabase
from tests.processes import ROOT

pytestmark = pytest.mark.slow

KILLS = 4
TIMEOUT_MS = 2000
# The answers a working system gives this traffic (a lost race is 409, an empty queue 200).
NORMAL = {200, 201, 409}


def test_the_api_survives_the_database_dying_under_traffic(tmp_path):
    database = EmbeddedDatabase(tmp_path / "db")
    database.start()
    env = {**os.environ, "MONGODB_URI": database.uri, "APP_ENV": "test",
           "MONGODB_TIMEOUT_MS": str(TIMEOUT_MS), "MONGODB_DB": "outage",
           # Its citizens apply far faster than a family does; the limit is not what it tests.
           "RATE_LIMIT_APPLICATIONS": "100000 per hour"}
    traffic = subprocess.Popen([sys.executable, "-m", "tests.outage_traffic"], cwd=ROOT, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=(tmp_path / "traffic.log").open("w"), text=True)
    rng = random.Random()
    try:
        assert traffic.stdout.readline().strip() == "ready"
        for _ in range(KILLS):
            time.sleep(rng.uniform(1.5, 3.0))  # traffic flows
            database.process.send_signal(signal.SIGKILL)  # no checkpoint, no goodbye
            database.process.wait()
            time.sleep(rng.uniform(0.5, 2.5))  # the outage
            database.start()
        time.sleep(3.0)  # traffic flows again, the same process serving it
        out, _ = traffic.communicate("stop\n", timeout=180)
    finally:
        traffic.kill()
        database.stop()
    report = json.loads(out.strip().splitlines()[-1])
    answers, facts = report["answers"], report["facts"]
    statuses = Counter(a["status"] for a in answers)
    slowest = max(a["seconds"] for a in answers)
    slowest_503 = max((a["seconds"] for a in answers if a["status"] == 503), default=None)
    print(f"\n{KILLS} kills, {len(answers)} answers {dict(statuses)}, slowest {slowest} s, "
          f"slowest 503 {slowest_503} s, "
          f"by kind {dict(Counter((a['what'], a['status']) for a in answers))}; slowest five "
          f"{sorted(answers, key=lambda a: -a['seconds'])[:5]}; "
          f"{json.dumps(facts)}")

    unavailable = [a for a in answers if a["status"] == 503]
    assert unavailable, "no request met the outage: the kills proved nothing"
    assert set(statuses) <= NORMAL | {503}, statuses
    assert all(a["retry_after"] and a["shape"] and a["error"] == "database_unavailable"
               for a in unavailable)
    # No request hangs for the outage: each database call gives up after the server selection
    # timeout or the connect timeout, once: the driver does not retry on the embedded server
    # (models.connection.client_options), whose retry waited for the server a second time. How
    # long a 503 takes is a figure, printed above (with retries, up to 4.4 s for a 2 s timeout;
    # without, 2.5 s), not asserted here; the bound below only says nobody waited out the
    # outage.
    assert slowest < 5 * TIMEOUT_MS / 1000, f"an answer took {slowest} s"
    tail = answers[-20:]
    assert all(a["status"] in NORMAL for a in tail), "not serving again after the restart"

    assert facts["acknowledged_keys"] > 10 and facts["completed_tasks"] > 10
    assert facts["acknowledged_missing"] == []
    assert facts["keys_answered_with_two_ids"] == []
    assert facts["keys_with_two_applications"] == []
    assert facts["half_written"] == []
    assert facts["completed_without_notification"] == []
    assert facts["elicences_missing"] == []
    assert facts["outboxes_left"] == 0 and facts["deliveries_pending"] == 0
