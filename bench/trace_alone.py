"""The database-command trace of one birth without the rest of `make bench`: a fresh database,
the stand-ins, the seeded catalogue and one officer per department, then `bench.trace`.

    python -m bench.trace_alone [--out var/bench/trace-alone.json]

Prints each endpoint's commands (its most common shape) and the database's CPU seconds over the
whole trace, and writes the trace as JSON. Half a minute on a quiet machine; no gunicorn, no
load."""
import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.processes import VAR, Phases
from bench.scenarios import trace
from bench.stack import Stack, cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(VAR / "trace-alone.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trace-") as folder, ExitStack() as exit_stack:
        stack = Stack(Path(folder), exit_stack)
        stack.start(Phases(), api=False)
        stack.create_officers()
        before = cpu_seconds(stack.database.process.pid)
        traced = trace(stack)
        traced["database_cpu_seconds"] = round(cpu_seconds(stack.database.process.pid) - before,
                                               3)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(traced, ensure_ascii=False, indent=1))
    for endpoint, commands in traced["summary"].items():
        print(f"{endpoint}: {len(commands)}")
        for number, command in enumerate(commands, 1):
            print(f"    {number}. {command}")
    relay = traced["relay"]
    print(f"{relay['endpoint']}: {len(relay['commands'])}")
    print(f"requests whose X-DB-Commands differs from the trace: {traced['mismatched']}")
    print(f"database CPU over the trace (two births, a returning and a staff sign-in, a relay): "
          f"{traced['database_cpu_seconds']} s")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
