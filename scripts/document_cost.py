"""What a newborn application's document costs the database, from its insert to its last task.

Runs the real app (test configuration, production's caches) against a throwaway embedded
database on disk, fsynced as production runs it, and drives `--births` newborn applications
through the API: the citizen applies, each department's officer opens, claims and completes its
task in dependency order, and the notification worker relays every round's intents. Prints the
database process's CPU seconds per birth (the whole journey, and the applications' commands
alone as the server's profiler timed them), the stored document's size submitted and finished,
and the applications' index count.

    .venv/bin/python scripts/document_cost.py [--births 20] [--background 200]

`py-spy record -p <the printed database pid>` during the run shows where the server spends it.
"""
import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import bson
import psutil
from bson.raw_bson import RawBSONDocument

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--births", type=int, default=20)
    parser.add_argument("--background", type=int, default=200,
                        help="applications applied (not worked) before the measured births")
    parser.add_argument("--pause", type=float, default=0,
                        help="seconds to wait before measuring (time to attach a profiler)")
    args = parser.parse_args()

    from common.embedded_db import EmbeddedDatabase
    with tempfile.TemporaryDirectory(prefix="document-cost-") as folder:
        server = EmbeddedDatabase(Path(folder) / "db")
        server.start()
        os.environ["MONGODB_URI"] = server.uri
        try:
            run(args, psutil.Process(server.process.pid))
        finally:
            server.stop()


def run(args, database: psutil.Process) -> None:
    from api import create_app
    from config import Config
    from models import catalogue_state
    from models.connection import database as db
    from tests import workflow_support as ws
    from tests.helpers import ApiClient, make_officer
    from tests.notifications.support import fast_worker

    app = create_app("test")
    app.config["CATALOGUE_STATE_TTL"] = Config.CATALOGUE_STATE_TTL
    app.config["ETA_CACHE_SECONDS"] = Config.ETA_CACHE_SECONDS
    with app.app_context():
        ws.load_catalogue()
        catalogue_state.forget_state()
        client = ApiClient(app.test_client(), headers={"Accept-Language": "en"})
        officers = {d: client.as_(make_officer(d)) for d in ws.NEWBORN_DEPARTMENTS}
        worker = fast_worker(app)
        serial = iter(range(1, 1_000_000))

        def apply() -> dict:
            parent = ws.make_parent(next(serial))
            body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                    "form": ws.newborn_form(), "materials": ws.newborn_materials(parent)}
            answer = client.as_(parent).post("/api/v1/applications", json=body,
                                             headers={"Idempotency-Key": f"k{next(serial)}"})
            assert answer.status_code == 201, answer.get_json()
            return answer.get_json()

        def birth() -> str:
            application = apply()
            for matter in ws.NEWBORN_STEPS:
                task = next(t for t in application["tasks"] if t["matter"] == matter)
                officer = officers[ws.NEWBORN_STEPS[matter][0]]
                url = f"/api/v1/workbench/tasks/{task['id']}"
                officer.get(url, expect=200)  # the workbench opens a task before claiming it
                officer.post(f"{url}/claim", expect=200)
                officer.post(f"{url}/complete", json={"outputs": ws.outputs_for(matter)},
                             expect=200)
                while worker.run_once():
                    pass
            return application["id"]

        began = time.perf_counter()
        for _ in range(args.background):
            apply()
        birth()  # warm every cache once
        print(f"{args.background} background applications in {time.perf_counter() - began:.1f} s;"
              f" database pid {database.pid}")
        if args.pause:
            time.sleep(args.pause)
        store = db()
        cpu_before = cpu_seconds(database)
        began = time.perf_counter()
        finished = [birth() for _ in range(args.births)]
        seconds = time.perf_counter() - began
        cpu = cpu_seconds(database) - cpu_before
        # Again with the server's profiler on, for its time per command (it costs CPU itself).
        store.command("profile", 2)
        for _ in range(args.births):
            birth()
        store.command("profile", 0)
        per_command: Counter = Counter()
        millis: Counter = Counter()
        for entry in store["system.profile"].find({"ns": {"$regex": r"\.applications$"}}):
            name = next(iter(entry.get("command") or {}), "?")
            per_command[name] += 1
            millis[name] += int(entry.get("millis") or 0)
        raw = store.get_collection("applications", codec_options=bson.CodecOptions(
            document_class=RawBSONDocument))
        done = raw.find_one({"_id": bson.ObjectId(finished[-1])})
        submitted = apply()
        fresh = raw.find_one({"_id": bson.ObjectId(submitted["id"])})
        indexes = len(store["applications"].index_information())
        print(f"load average {os.getloadavg()[0]:.1f}; {args.births} births in {seconds:.1f} s")
        print(f"database CPU {cpu:.2f} s: {cpu / args.births * 1000:.0f} ms a birth")
        for name in sorted(per_command):
            print(f"  applications {name:<10} {per_command[name] / args.births:5.1f} a birth, "
                  f"{millis[name] / args.births:6.1f} ms a birth (profiler's whole ms)")
        print(f"document bytes: submitted {len(fresh.raw)}, finished {len(done.raw)}; "
              f"indexes on applications {indexes}")


if __name__ == "__main__":
    main()
