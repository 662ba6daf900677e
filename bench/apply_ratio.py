"""Apply throughput against the bare baseline alone, without the rest of `make bench`: the same
stack (production settings, gunicorn 2 workers x 4 threads, the embedded database), the same
apply-only loads, taken in turns (ours, baseline, ours, …) so that a machine shared with other
work weighs on both sides alike; the ratio of each pair and of the sums is printed.

    .venv/bin/python -m bench.apply_ratio [--rounds 2]

Each load's users and seconds are make bench's (BENCH_APPLY_USERS, BENCH_APPLY_SECONDS).
"""
import argparse
import os
import shutil
import signal
from contextlib import ExitStack, suppress
from datetime import UTC, datetime

from bench import report
from bench.figures import apply_rate
from bench.processes import VAR, Phases, say
from bench.scenarios import apply_only, baseline
from bench.stack import Stack
from common.embedded_db import stop_on_sigterm

OURS, BARE = "POST /api/v1/applications", "POST /apply (baseline)"


def _commands(recorded: dict) -> int | None:
    counts = (recorded["endpoints"].get(OURS) or {}).get("db_commands") or []
    return max(set(counts), key=counts.count) if counts else None


def _ms_each(used: dict, part: str, recorded: dict, name: str) -> float | None:
    count = len((recorded["endpoints"].get(name) or {}).get("times_ms") or [])
    return round(used[part] * 1000 / count, 2) if count else None


def measure(stack: Stack, phases: Phases, rounds: int) -> list:
    phases.run("start database and stand-ins", lambda: (stack.start_database(),
                                                        stack.start_standins()))
    phases.run("seed the catalogue", stack.seed)
    phases.run("boot gunicorn and worker", stack.boot_api)
    # As in make bench: the worker, which the baseline does not have, is paused.
    os.kill(stack.worker.pid, signal.SIGSTOP)
    pairs = []
    for n in range(rounds):
        ours = phases.run(f"round {n + 1}: ours", apply_only, stack, f"apply-{n}",
                          f"13{5 - n % 5}")
        # The database's CPU per application of each side: what a busy machine distorts least
        # (the database's one core is what both sides queue for).
        between = stack.cpu_seconds()
        bare = phases.run(f"round {n + 1}: baseline", baseline, stack)
        ended = stack.cpu_seconds()
        used = ours["cpu"]["cpu_seconds"]
        pair = report.overhead(apply_rate(ours, OURS), apply_rate(bare, BARE))
        pair.update(commands=_commands(ours), errors=(ours["endpoints"].get(OURS) or {}).get(
            "errors"), machine_busy=(ours.get("cpu") or {}).get("machine_busy"),
            cores=(ours.get("cpu") or {}).get("cores_used"),
            ours_db_ms=_ms_each(used, "database", ours, OURS),
            ours_api_ms=_ms_each(used, "api (gunicorn)", ours, OURS),
            baseline_db_ms=_ms_each({k: ended[k] - between[k] for k in ended}, "database", bare,
                                    BARE), citizens=ours["citizens"])
        say(f"round {n + 1}: {pair}")
        pairs.append(pair)
    with suppress(ProcessLookupError):
        os.kill(stack.worker.pid, signal.SIGCONT)
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    stop_on_sigterm()
    run_dir = VAR / ("ratio-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    phases = Phases()
    try:
        with ExitStack() as stack:
            pairs = measure(Stack(run_dir, stack), phases, args.rounds)
    finally:
        shutil.rmtree(run_dir / "db", ignore_errors=True)
    print()
    for n, pair in enumerate(pairs, 1):
        print(f"round {n}: ours {pair['ours_rps']} / baseline {pair['baseline_rps']} "
              f"applications/s = {pair['ratio']}; {pair['commands']} commands, "
              f"{pair['errors']} errors; machine busy {pair['machine_busy']}; CPU ms per "
              f"application: database {pair['ours_db_ms']} (ours) vs {pair['baseline_db_ms']} "
              f"(baseline), our API {pair['ours_api_ms']}; citizens {pair['citizens']}")
    ours = sum(p["ours_rps"] or 0 for p in pairs)
    bare = sum(p["baseline_rps"] or 0 for p in pairs)
    print(f"all rounds: {ours / bare if bare else None:.3f} (target ≥ "
          f"{report.OVERHEAD_RATIO_TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
