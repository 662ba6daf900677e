"""An acknowledged write survives the database being killed: a process submits applications
while the embedded server is SIGKILLed and restarted again and again; every application whose
submission returned is there afterwards, once."""
import os
import signal
import subprocess
import sys
import textwrap

import pymongo
import pytest

from common.embedded_db import EmbeddedDatabase
from tests.processes import ROOT

pytestmark = pytest.mark.slow

APPLICANT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    import pymongo.errors
    from api import create_app
    from services.errors import ServiceUnavailable
    from services.workflow import submission
    from tests import workflow_support as ws

    app = create_app("test")
    with app.app_context():
        ws.load_catalogue()
        parent = ws.make_parent()
        materials = ws.newborn_materials(parent)
        print("ready", flush=True)
        n, deadline = 0, time.monotonic() + {seconds}
        while time.monotonic() < deadline:
            n += 1
            try:
                application = submission.submit_application(
                    applicant_id=str(parent.id), bundle="newborn", subject={{"kind": "newborn"}},
                    form=ws.newborn_form(newborn_name=f"Baby {{n}}"), materials=materials,
                    idempotency_key=f"kill-{{n}}")
                print("acknowledged", application.id, flush=True)
            except (pymongo.errors.PyMongoError, ServiceUnavailable):
                time.sleep(0.05)
""")


seen: list[str] = []


def wait_for_acknowledgements(applicant, count: int) -> None:
    """Read until `count` more applications were acknowledged: the kill lands mid-stream."""
    got = 0
    while got < count:
        line = applicant.stdout.readline()
        if not line:
            return
        seen.append(line)
        got += line.startswith("acknowledged")


def test_every_acknowledged_application_survives_repeated_kills(tmp_path):
    database = EmbeddedDatabase(tmp_path / "db")
    database.start()
    env = {**os.environ, "MONGODB_URI": database.uri, "APP_ENV": "test",
           "MONGODB_TIMEOUT_MS": "2000", "MONGODB_DB": "durability"}
    applicant = subprocess.Popen(
        [sys.executable, "-c", APPLICANT.format(root=str(ROOT), seconds=18)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert applicant.stdout.readline().strip() == "ready"
        for _ in range(5):
            wait_for_acknowledgements(applicant, 5)
            database.process.send_signal(signal.SIGKILL)  # no checkpoint, no goodbye
            database.process.wait()
            database.start()
        rest, _ = applicant.communicate(timeout=120)
    finally:
        applicant.kill()
    out = "".join(seen) + rest
    acknowledged = [line.split()[1] for line in out.splitlines()
                    if line.startswith("acknowledged")]
    with pymongo.MongoClient(database.uri) as client:
        found = client["durability"]["applications"].find({}, {"_id": 1})
        stored = {str(doc["_id"]) for doc in found}
    database.stop()
    assert len(acknowledged) > 10, "too few applications to say anything"
    lost = [a for a in acknowledged if a not in stored]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged applications lost"
    assert len(set(acknowledged)) == len(acknowledged)
