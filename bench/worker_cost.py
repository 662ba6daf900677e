"""The notification worker's database work per birth, alone and deterministic: births applied
for and worked through by officers (the real app in this process, a throwaway embedded
database), the worker running one round after each change as a change stream would wake it;
only the rounds are measured: the database's CPU seconds and commands per birth, and each
round's wall time. CPU and commands are what a machine shared with other work distorts least.
What an idle worker and its lanes cost by the clock (bench.idle_cost) is not in it.

`--before REV` runs the same measurement with the worker of another commit (its tree extracted,
this file copied in), in turns with this checkout's, and prints both:

    .venv/bin/python -m bench.worker_cost --before main --births 12 --turns 2

`--others N` first stores N other citizens' devices, notification preferences, inbox counters
and conversations (a database with a history), which a round must not read.
"""
import argparse
import json
import os
import shutil
import subprocess  # nosec B404  # our own interpreter and git, fixed argv
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import in_process
from bench.processes import PYTHON, ROOT, checkout
from common.embedded_db import EmbeddedDatabase

DATABASE = "onething_worker_cost"
WARM = 2  # births before measuring: caches filled, code paths loaded


def measure(births: int, others: int = 0) -> dict:
    # The app and the test helpers are imported once the database's address is set: the
    # configuration reads it at import.
    with tempfile.TemporaryDirectory() as folder, \
            EmbeddedDatabase(f"{folder}/db") as server:
        os.environ.update(MONGODB_URI=server.uri, MONGODB_DB=DATABASE)
        return _measure(births, psutil.Process(server.process.pid), others)


def store_others(others: int) -> None:
    """Other citizens' devices, preferences, inbox counters and conversations, in bulk."""
    from models.connection import database  # noqa: PLC0415  # after the database's address is set

    now = datetime.now(UTC)
    users = [f"other-{n:07d}" for n in range(others)]
    for start in range(0, others, 1000):
        chunk = users[start:start + 1000]
        database()["devices"].insert_many([{"token": f"token-{u}", "user": u, "platform": "android",
                                            "last_seen_at": now, "created_at": now,
                                            "updated_at": now} for u in chunk])
        database()["notification_preferences"].insert_many([
            {"user": u, "push": True, "miniprogram": True, "sms": True, "subscriptions": [],
             "created_at": now, "updated_at": now} for u in chunk])
        database()["notification_sequences"].insert_many([{"_id": u, "seq": 3} for u in chunk])
        database()["conversations"].insert_many([
            {"owner": u, "locale": "zh-CN", "state": "idle", "status": "with_assistant",
             "turns": [], "outbox": [], "outbox_pending": False, "created_at": now,
             "updated_at": now}
            for u in chunk])


def _measure(births: int, database: psutil.Process, others: int = 0) -> dict:
    from models import catalogue_state  # noqa: PLC0415
    from models.device import Device  # noqa: PLC0415
    from notifications.worker import Worker  # noqa: PLC0415
    from tests import workflow_support as ws  # noqa: PLC0415
    from tests.helpers import ApiClient, make_officer  # noqa: PLC0415

    app = in_process.production_like_app()
    counted = in_process.count_commands()
    spent = {"cpu": 0.0, "commands": 0, "rounds": [], "handled": 0}

    def cpu() -> float:
        times = database.cpu_times()
        return times.user + times.system

    with app.app_context():
        store_others(others)
        ws.load_catalogue()
        catalogue_state.forget_state()
        worker = Worker(app.config)
        flask = app.test_client()
        officers = {d: ApiClient(flask).as_(make_officer(d)) for d in ws.NEWBORN_DEPARTMENTS}

        def round_(measured: bool) -> None:
            before, commands, began = cpu(), counted["sent"], time.perf_counter()
            handled = worker.run_once()
            if measured:
                spent["rounds"].append((time.perf_counter() - began) * 1000)
                spent["cpu"] += cpu() - before
                spent["commands"] += counted["sent"] - commands
                spent["handled"] += handled

        for n in range(WARM + births):
            measured = n >= WARM
            parent = ws.make_parent(100 + n)
            Device(user=str(parent.id), token=f"worker-cost-{n}", platform="android").save()
            citizen = ApiClient(flask, headers={"Accept-Language": "zh-CN"}).as_(parent)
            application = citizen.post("/api/v1/applications", json={
                "bundle": "newborn", "subject": {"kind": "newborn"},
                "form": ws.newborn_form(newborn_name=f"Baby {n}"),
                "materials": ws.newborn_materials(parent)},
                headers={"Idempotency-Key": f"birth-{n}"}, expect=201).get_json()
            round_(measured)
            tasks = {t["matter"]: t["id"] for t in application["tasks"]}
            for matter, (department, outputs) in ws.NEWBORN_STEPS.items():
                if matter not in tasks:
                    continue
                officer, task = officers[department], f"/api/v1/workbench/tasks/{tasks[matter]}"
                officer.get(task, expect=200)
                officer.post(f"{task}/claim", expect=200)  # adds no intent: wakes nobody
                officer.post(f"{task}/complete", json={"outputs": outputs or {
                    "citizen_id_number": ws.baby_id_number(n % 900 + 10)}}, expect=200)
                round_(measured)
    rounds = sorted(spent["rounds"])
    return {"births": births, "others": others,
            "database_cpu_ms_per_birth": round(spent["cpu"] * 1000 / births, 1),
            "commands_per_birth": round(spent["commands"] / births, 1),
            "handled_per_birth": round(spent["handled"] / births, 1),
            "round_ms_p50": round(rounds[len(rounds) // 2], 1),
            "round_ms_max": round(rounds[-1], 1), "load_average": list(psutil.getloadavg())}


def run_in(tree: Path, births: int, others: int) -> dict:
    """This measurement in another process, with the code of `tree`."""
    answer = subprocess.run(  # nosec B603
        [PYTHON, "-m", "bench.worker_cost", "--births", str(births), "--others", str(others),
         "--json"], cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)}, check=True, capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def line(label: str, row: dict) -> str:
    return (f"{label:<7} {row['births']} births, {row.get('others', 0)} others: database "
            f"{row['database_cpu_ms_per_birth']:6.1f} "
            f"ms CPU and {row['commands_per_birth']:5.1f} commands a birth in the worker's rounds "
            f"({row['handled_per_birth']:.1f} intents+deliveries); a round p50 "
            f"{row['round_ms_p50']:.1f} ms, max {row['round_ms_max']:.1f} ms; load "
            f"{[round(x, 1) for x in row['load_average']]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--births", type=int, default=12)
    parser.add_argument("--before", help="also measure the worker of this commit, in turns")
    parser.add_argument("--turns", type=int, default=1)
    parser.add_argument("--others", type=int, default=0,
                        help="other citizens' devices, preferences, counters, conversations")
    parser.add_argument("--json", action="store_true", help="one JSON line (for --before)")
    args = parser.parse_args(argv)
    if args.before is None:
        result = measure(args.births, args.others)
        print(json.dumps(result) if args.json else line("this", result))
        return 0
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory() as folder:
        before = checkout(args.before, Path(folder))
        for own in ("worker_cost.py", "in_process.py"):  # the measurement, not the worker
            shutil.copy(Path(__file__).with_name(own), before / "bench" / own)
        for _ in range(args.turns):
            for label, tree in (("before", before), ("after", ROOT)):
                rows.append((label, run_in(tree, args.births, args.others)))
                print(line(*rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
