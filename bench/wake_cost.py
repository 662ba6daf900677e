"""What the notification worker's way of waiting costs the database: polling every
NOTIFICATION_POLL_SECONDS, or woken by a change stream (NOTIFICATION_WAKE_ON_CHANGES), each idle
and under a steady load of plain writes to applications (claims, say: nothing for the worker).

On the embedded server a change stream answers after every write the database takes, whatever
its filter lets through, so its cost grows with the write rate while polling's does not. Rerun:
`.venv/bin/python -m bench.wake_cost --rate 20 --seconds 20`.
"""
import argparse
import os
import subprocess  # nosec B404  # our own worker, fixed argv
import sys
import tempfile
import threading
import time

import psutil
import pymongo

from bench.processes import ROOT
from common.embedded_db import EmbeddedDatabase

DATABASE = "onething_wake_cost"
APPLICATIONS = 200
SETTLE_SECONDS = 8.0


def measure(rate: float, seconds: float, modes: list[str]) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, EmbeddedDatabase(f"{folder}/db") as database:
        client = pymongo.MongoClient(database.uri)
        applications = client[DATABASE].applications
        # Applications the size of the bench's (about 15 KB, seven tasks).
        applications.insert_many([{
            "_id": n, "tasks": [{"id": f"{n}-{k}", "status": "pending"} for k in range(7)],
            "blob": "x" * 15_000, "outbox": [], "outbox_pending": False}
            for n in range(APPLICATIONS)])
        process = psutil.Process(database.process.pid)

        def cpu() -> float:
            times = process.cpu_times()
            return times.user + times.system

        def write(stop: threading.Event) -> None:
            n = 0
            while not stop.is_set():
                applications.update_one({"_id": n % APPLICATIONS}, {
                    "$set": {"tasks.0.status": "claimed", "n": n}, "$inc": {"version": 1}})
                n += 1
                time.sleep(1 / rate)

        for mode in modes:
            env = {**os.environ, "APP_ENV": "development", "MONGODB_URI": database.uri,
                   "MONGODB_DB": DATABASE, "DEV_SEED": "false", "ASSISTANT_WARM_UP": "false",
                   "PYTHONPATH": str(ROOT),
                   "NOTIFICATION_WAKE_ON_CHANGES": "true" if mode == "watching" else "false"}
            worker = None
            if mode != "no worker":
                worker = subprocess.Popen(  # nosec B603
                    [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(SETTLE_SECONDS)
            try:
                for load in ("idle", f"{rate:g} writes/s"):
                    stop = threading.Event()
                    writer = threading.Thread(target=write, args=(stop,), daemon=True)
                    if load != "idle":
                        writer.start()
                    before, begun = cpu(), time.monotonic()
                    time.sleep(seconds)
                    used = (cpu() - before) * 60 / (time.monotonic() - begun)
                    stop.set()
                    result.setdefault(mode, {})[load] = round(used, 2)
                    print(f"{mode:<10} {load:<14} {used:5.2f} database CPU-s a minute",
                          flush=True)
                    time.sleep(0.5)
            finally:
                if worker is not None:
                    worker.terminate()
                    worker.wait(30)
        client.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="plain writes a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured per case")
    parser.add_argument("--modes", default="no worker,polling,watching")
    args = parser.parse_args(argv)
    measure(args.rate, args.seconds, args.modes.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
