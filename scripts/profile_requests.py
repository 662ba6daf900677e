"""Where one apply and one complete spend their time and their database commands.

Runs the real app (test configuration, production's caches) against a throwaway embedded
database with `BACKGROUND` applications already in it, then profiles one newborn application
and one task completion: the database commands each sends (name, collection, selected fields,
round trip in ms) and the Python functions with the most cumulative time (cProfile).

    .venv/bin/python scripts/profile_requests.py [--background 300] [--top 25]
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from pathlib import Path

from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.trace import DRIVER_COMMANDS, describe  # noqa: E402 (after the path is set)


class Timed(monitoring.CommandListener):
    """Each command the profiled thread sends, with its round trip."""

    def __init__(self):
        self.thread = threading.get_ident()
        self.started_at: dict[int, tuple[str, float]] = {}
        self.commands: list[tuple[str, float]] = []
        self.recording = False

    def started(self, event):
        if (self.recording and threading.get_ident() == self.thread
                and event.command_name not in DRIVER_COMMANDS):
            self.started_at[event.request_id] = (describe(event.command_name, event.command),
                                                 time.perf_counter())

    def succeeded(self, event):
        self._done(event)

    def failed(self, event):
        self._done(event)

    def _done(self, event):
        if event.request_id in self.started_at:
            name, began = self.started_at.pop(event.request_id)
            self.commands.append((name, (time.perf_counter() - began) * 1000))


def profiled(listener: Timed, label: str, call, top: int):
    listener.commands.clear()
    listener.recording = True
    profile = cProfile.Profile()
    began = time.perf_counter()
    profile.enable()
    response = call()
    profile.disable()
    elapsed = (time.perf_counter() - began) * 1000
    listener.recording = False
    print(f"\n== {label}: {response.status_code}, {elapsed:.1f} ms in all, "
          f"X-DB-Commands {response.headers.get('X-DB-Commands')}")
    database_ms = sum(ms for _, ms in listener.commands)
    for name, ms in listener.commands:
        print(f"   {ms:7.2f} ms  {name}")
    print(f"   {database_ms:7.2f} ms  in the database (round trips), "
          f"{elapsed - database_ms:.1f} ms in the process")
    out = io.StringIO()
    # The product's own functions, by the time spent inside them and below.
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(
        r"/(api|services|models|common|notifications)/", top)
    # And where the time is spent itself, libraries included (serializing, validating, crypto).
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top // 2)
    print(out.getvalue())
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=300,
                        help="applications in the database before the profiled ones")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from common.embedded_db import EmbeddedDatabase
    server = EmbeddedDatabase(":memory:")
    server.start()
    os.environ["MONGODB_URI"] = server.uri
    listener = Timed()
    monitoring.register(listener)  # before the app's client exists
    try:
        run(args, listener)
    finally:
        server.stop()


def run(args, listener: Timed) -> None:
    from api import create_app
    from config import Config
    from models import catalogue_state
    from tests import workflow_support as ws
    from tests.helpers import ApiClient, make_officer

    app = create_app("test")
    app.config["CATALOGUE_STATE_TTL"] = Config.CATALOGUE_STATE_TTL
    app.config["ETA_CACHE_SECONDS"] = Config.ETA_CACHE_SECONDS
    with app.app_context():
        ws.load_catalogue()
        catalogue_state.forget_state()
        client = ApiClient(app.test_client(), headers={"Accept-Language": "en"})

        def apply(parent, key):
            body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                    "form": ws.newborn_form(), "materials": ws.newborn_materials(parent)}
            return client.as_(parent).post("/api/v1/applications", json=body,
                                           headers={"Idempotency-Key": key})

        began = time.perf_counter()
        for n in range(args.background):
            assert apply(ws.make_parent(1000 + n), f"bg-{n}").status_code == 201
        print(f"{args.background} applications made in {time.perf_counter() - began:.1f} s")
        parent = ws.make_parent(1)
        body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                "form": ws.newborn_form(), "materials": ws.newborn_materials(parent)}
        citizen = client.as_(parent)
        answer = profiled(listener, "apply", lambda: citizen.post(
            "/api/v1/applications", json=body, headers={"Idempotency-Key": "profiled"}),
            args.top)
        application = answer.get_json()
        task = next(t for t in application["tasks"]
                    if t["matter"] == "birth_medical_certificate")
        officer = client.as_(make_officer("health"))
        url = f"/api/v1/workbench/tasks/{task['id']}"
        profiled(listener, "queue", lambda: officer.get("/api/v1/workbench/tasks"), args.top)
        profiled(listener, "claim", lambda: officer.post(f"{url}/claim"), args.top)
        profiled(listener, "complete", lambda: officer.post(
            f"{url}/complete", json={"outputs": ws.outputs_for(task["matter"])}), args.top)
        other = next(t for t in application["tasks"]
                     if t["matter"] == "maternity_insurance_benefit")
        insurer = client.as_(make_officer("medical_insurance"))
        url = f"/api/v1/workbench/tasks/{other['id']}"
        insurer.post(f"{url}/claim")
        profiled(listener, "complete (no e-licence)", lambda: insurer.post(
            f"{url}/complete", json={"outputs": ws.outputs_for(other["matter"])}), args.top)
        profiled(listener, "citizen's list", lambda: citizen.get("/api/v1/applications"),
                 args.top)


if __name__ == "__main__":
    main()
