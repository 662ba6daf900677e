"""Apply throughput with 1, 2 and 4 API processes (gunicorn workers of 4 threads each) on one
database: `make bench`'s apply-only load (bench/locustfile.py `Applicant`: signed in, materials
uploaded once, then applying as fast as answers come), the same number of users each time, the
notification worker paused as in `make bench`'s overhead ratio (it would take the database's
core). One machine: the figures say how far more processes help here, and where the database or
the cores stop them.

    .venv/bin/python -m bench.api_scale                     # 1, 2, 4 processes, 20 s each
    .venv/bin/python -m bench.api_scale --workers 1,2 --seconds 10
"""
import argparse
import os
import signal
import sys
from contextlib import suppress

from bench.figures import apply_rate
from bench.processes import VAR, Phases, write_result
from bench.scenarios import apply_only, warm_up
from bench.stack import Stack, new_run, run_on_stack
from common.embedded_db import stop_on_sigterm

ROUTE = "POST /api/v1/applications"
PREFIXES = {1: "131", 2: "132", 4: "138", 8: "139"}


def run(stack: Stack, phases: Phases, workers: list[int], users: int, seconds: float) -> dict:
    stack.start(phases, api=False)
    found: dict = {}
    for count in workers:
        phases.run(f"boot {count} API processes", stack.boot_api, count)
        phases.run("warm up", warm_up, stack)
        os.kill(stack.worker.pid, signal.SIGSTOP)
        recorded = phases.run(f"apply with {count} API processes", apply_only, stack,
                              f"apply-{count}", PREFIXES.get(count, "139"), users, seconds)
        with suppress(ProcessLookupError):
            os.kill(stack.worker.pid, signal.SIGCONT)
        entry = recorded["endpoints"].get(ROUTE) or {}
        rate = apply_rate(recorded, ROUTE)
        times = sorted(entry.get("times_ms") or [])
        found[str(count)] = {
            "applications_per_second": None if rate is None else round(rate, 2),
            "applications": len(times), "errors": entry.get("errors"),
            "p50_ms": times[len(times) // 2] if times else None,
            "cores_used": (recorded.get("cpu") or {}).get("cores_used"),
            "machine_busy": (recorded.get("cpu") or {}).get("machine_busy")}
        phases.run("stop the API", stack.stop_api)
    one = (found.get("1") or {}).get("applications_per_second")
    for entry in found.values():
        rate = entry["applications_per_second"]
        entry["speed_up"] = round(rate / one, 2) if rate and one else None
    return found


def render(found: dict, users: int, seconds: float) -> str:
    out = [f"apply throughput ({users} users, {seconds:g} s each)"]
    for count, entry in found.items():
        cores = entry.get("cores_used") or {}
        out.append(f"{count} API process(es): {entry['applications_per_second']} applications/s "
                   f"(x{entry['speed_up']}), p50 {entry['p50_ms']} ms, {entry['errors']} errors;"
                   f" cores: API {cores.get('api (gunicorn)')}, database "
                   f"{cores.get('database')}, locust {cores.get('load generator (locust)')}; "
                   f"machine busy {entry['machine_busy']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    stop_on_sigterm()
    stamp, run_dir = new_run("api-scale")
    result: dict = {"run": {"started_at": stamp, "users": args.users, "seconds": args.seconds,
                            "threads_per_process": 4, "cores": os.cpu_count()}}

    def body(stack: Stack, phases: Phases) -> None:
        result["processes"] = run(stack, phases, workers, args.users, args.seconds)

    run_on_stack(run_dir, result, body)
    write_result(result, run_dir, "api-scale-latest.json")
    print()
    if result.get("processes"):
        print(render(result["processes"], args.users, args.seconds))
    print(f"Results: {VAR / 'api-scale-latest.json'} (logs in {run_dir / 'logs'})")
    return 2 if result.get("failure") else 0


if __name__ == "__main__":
    sys.exit(main())
