"""The database's CPU per newborn application, submitted to completed, step by step: what the
issue's "database CPU seconds per birth" counts, without the journey's other work (signing up,
uploading, the assistant, idle workbenches polling) and without other requests' contention.

One birth at a time, the real app in this process against a throwaway embedded database on disk
(fsynced as production's): the citizen applies; the notification worker runs a round, as its
change stream would wake it; each department's officer reads the queue, opens the task, claims
and completes it, and the worker runs a round; the citizen reads the application and the inbox
after applying and at the end (the journey's phone does). Each step's database CPU (the server's
run time around it) and commands are summed by kind, and by command and collection.

    .venv/bin/python -m bench.birth_cost [--births 8]

`make bench`'s "database CPU per birth" is the journey's: every command of the load ÷ births,
under contention; this is the floor under it, and where each millisecond of a birth goes.
"""
import argparse
import json
import os
import subprocess  # nosec B404  # our own interpreter, fixed argv
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import psutil
from pymongo import monitoring

from bench import in_process
from bench.processes import PYTHON, ROOT, server_ns
from bench.server_cpu import ServerCpuByCommand
from common.embedded_db import EmbeddedDatabase

WARM = 2  # births before measuring: caches filled, code paths loaded
STEPS = ("apply", "worker rounds", "queue reads", "task reads", "claims", "completions",
         "citizen reads")


def measure(births: int) -> dict:
    listener = ServerCpuByCommand()
    monitoring.register(listener)  # before the app's client is made: it takes it
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedDatabase(Path(folder) / "db")
        server.start()
        listener.pid = server.process.pid
        os.environ["MONGODB_URI"] = server.uri
        try:
            return _measure(births, listener)
        finally:
            server.stop()


def _measure(births: int, listener: ServerCpuByCommand) -> dict:
    # Imported once the database's address is set: the configuration reads it at import.
    from models import catalogue_state  # noqa: PLC0415
    from models.device import Device  # noqa: PLC0415
    from notifications.worker import Worker  # noqa: PLC0415
    from tests import workflow_support as ws  # noqa: PLC0415
    from tests.helpers import ApiClient, make_officer  # noqa: PLC0415

    app = in_process.production_like_app()
    commands = in_process.count_commands()
    spent: dict[str, list] = defaultdict(lambda: [0, 0])  # step → [server ns, commands]
    # step → (command, collection) → [server ns, commands]
    by_command: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))

    def step(name: str, measured: bool, action):
        if not measured:
            return action()
        began, sent = server_ns(listener.pid), commands["sent"]
        listener.spent, listener.counting = by_command[name], True
        try:
            return action()
        finally:
            listener.counting = False
            spent[name][0] += server_ns(listener.pid) - began
            spent[name][1] += commands["sent"] - sent

    with app.app_context():
        ws.load_catalogue()
        catalogue_state.forget_state()
        worker = Worker(app.config)
        flask = app.test_client()
        officers = {d: ApiClient(flask, headers={"Accept-Language": "zh-CN"}).as_(make_officer(d))
                    for d in ws.NEWBORN_DEPARTMENTS}
        def birth(n: int, measured: bool) -> None:
            parent = ws.make_parent(100 + n)
            Device(user=str(parent.id), token=f"birth-cost-{n}", platform="android").save()
            citizen = ApiClient(flask, headers={"Accept-Language": "zh-CN"}).as_(parent)
            body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                    "form": ws.newborn_form(newborn_name=f"Baby {n}"),
                    "materials": ws.newborn_materials(parent)}
            application = step("apply", measured, lambda: citizen.post(
                "/api/v1/applications", json=body, headers={"Idempotency-Key": f"birth-{n}"},
                expect=201).get_json())
            step("worker rounds", measured, worker.run_once)

            def read_it():
                citizen.get(f"/api/v1/applications/{application['id']}", expect=200)
                citizen.get("/api/v1/me/notifications", expect=200)

            step("citizen reads", measured, read_it)
            tasks = {t["matter"]: t["id"] for t in application["tasks"]}
            for matter, (department, outputs) in ws.NEWBORN_STEPS.items():
                if matter not in tasks:
                    continue
                officer, task = officers[department], f"/api/v1/workbench/tasks/{tasks[matter]}"
                step("queue reads", measured, lambda o=officer: o.get(
                    "/api/v1/workbench/tasks?status=pending&page_size=20", expect=200))
                step("task reads", measured, lambda o=officer, t=task: o.get(t, expect=200))
                step("claims", measured, lambda o=officer, t=task: o.post(f"{t}/claim",
                                                                          expect=200))
                given = outputs or {"citizen_id_number": ws.baby_id_number(n % 900 + 10)}
                step("completions", measured, lambda o=officer, t=task, g=given: o.post(
                    f"{t}/complete", json={"outputs": g}, expect=200))
                step("worker rounds", measured, worker.run_once)
            step("citizen reads", measured, read_it)

        for n in range(WARM + births):
            birth(n, measured=n >= WARM)
    total = sum(ns for ns, _ in spent.values())
    return {
        "births": births,
        "database_cpu_ms_per_birth": round(total / 1e6 / births, 1),
        "commands_per_birth": round(sum(c for _, c in spent.values()) / births, 1),
        "steps": {name: {"database_cpu_ms": round(spent[name][0] / 1e6 / births, 1),
                         "commands": round(spent[name][1] / births, 1),
                         "by_command": [{"command": command, "collection": collection,
                                         "database_cpu_ms": round(ns / 1e6 / births, 2),
                                         "commands": round(sent / births, 1)}
                                        for (command, collection), (ns, sent) in sorted(
                                            by_command[name].items(),
                                            key=lambda item: -item[1][0])]}
                  for name in STEPS if name in spent},
        "load_average": [round(x, 1) for x in psutil.getloadavg()],
    }


TARGET_MS = 300  # the issue's ≤ 0.30 database CPU-s per birth


def in_subprocess(births: int) -> dict:
    """This measurement in a process of its own (make bench's: its own database and client)."""
    answer = subprocess.run(  # nosec B603  # our own interpreter and module, fixed argv
        [PYTHON, "-m", "bench.birth_cost", "--births", str(births), "--json"], cwd=ROOT,
        check=True, capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def rows(result: dict) -> list[dict]:
    """make bench's rows: the figure against its target, and where it goes."""
    per_birth = result["database_cpu_ms_per_birth"]
    steps = ", ".join(f"{name} {row['database_cpu_ms']:.0f}"
                      for name, row in result["steps"].items())
    return [{"label": "database CPU per birth, submitted to completed (one at a time)",
             "figure": f"{per_birth:.0f} ms and {result['commands_per_birth']:.0f} commands over "
                       f"{result['births']} births; target ≤ {TARGET_MS} ms: "
                       + ("ok" if per_birth <= TARGET_MS else "MISSED")},
            {"label": "  by step (ms)", "figure": steps}]


def render(result: dict) -> str:
    lines = [f"{result['births']} births, one at a time: database "
             f"{result['database_cpu_ms_per_birth']:.1f} ms CPU and "
             f"{result['commands_per_birth']:.1f} commands a birth, submitted to completed "
             f"(load {result['load_average']})"]
    for name, row in result["steps"].items():
        lines.append(f"  {name:<14} {row['database_cpu_ms']:7.1f} ms  {row['commands']:5.1f} "
                     "commands")
        lines += [f"      {c['command']:<10} {c['collection'] or '(database)':<26} "
                  f"{c['database_cpu_ms']:6.2f} ms {c['commands']:5.1f} commands"
                  for c in row["by_command"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--births", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args(argv)
    result = measure(args.births)
    print(json.dumps(result) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
