"""Who makes the database work during the bench's journey: make bench's stack and journey load,
with the database's profiler recording every command, summed by the process that sent it (each
gunicorn worker, the notification worker) and by command and collection.

The profiler's `millis` is whole milliseconds of the server's time per command (a command under
a millisecond counts 0), so the counts say as much as the times. Rerun:
`.venv/bin/python -m bench.db_profile` (BENCH_JOURNEY_SECONDS and the other bench settings apply;
the JSON goes to var/bench/profile-latest.json).
"""
import sys
from collections import Counter, defaultdict
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.figures import notification_latency
from bench.processes import ROOT, VAR, Phases, command_line, say, write_result
from bench.scenarios import locust, warm_up
from bench.settings import CITIZENS, JOURNEY_SECONDS, MAX_BIRTHS, TAIL_SECONDS
from bench.stack import DATABASE, OFFICER_PREFIX, Stack


def local_ports(pid: int) -> set[int]:
    """The local ports of the process's (and its children's) connections now."""
    ports: set[int] = set()
    with suppress(psutil.Error):
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            with suppress(psutil.Error):
                ports |= {c.laddr.port for c in member.net_connections("tcp") if c.raddr}
    return ports


def owners(stack: Stack) -> dict[int, str]:
    """Local port → the part of the stack that holds it."""
    found: dict[int, str] = {}
    for port in local_ports(stack.worker.pid):
        found[port] = "notification worker"
    with suppress(psutil.Error):
        for child in psutil.Process(stack.api.pid).children():
            for port in local_ports(child.pid):
                found[port] = "api (gunicorn)"
    return found


def summarise(entries: list[dict], ports: dict[int, str], births: int) -> dict:
    by_part: dict[str, Counter] = defaultdict(Counter)
    by_command: dict[tuple, Counter] = defaultdict(Counter)
    for entry in entries:
        port = int(str(entry.get("client") or ":0").rsplit(":", 1)[-1] or 0)
        part = ports.get(port, "other (closed connections, tools)")
        command = entry.get("command") or {}
        name = next(iter(command), "?")
        key = (part, name, str(entry.get("ns", "")).split(".", 1)[-1])
        for counter in (by_part[part], by_command[key]):
            counter["commands"] += 1
            counter["millis"] += int(entry.get("millis") or 0)
    per_birth = max(1, births)
    return {
        "births": births,
        "by_part": {part: {"commands": c["commands"], "millis": c["millis"],
                           "commands_per_birth": round(c["commands"] / per_birth, 1),
                           "millis_per_birth": round(c["millis"] / per_birth, 1)}
                    for part, c in sorted(by_part.items(), key=lambda kv: -kv[1]["millis"])},
        "by_command": [{"part": part, "command": name, "collection": coll, **counter}
                       for (part, name, coll), counter in sorted(
                           by_command.items(), key=lambda kv: -kv[1]["millis"])],
    }


def journey(run_dir: Path, worker_root: Path = ROOT, profile: bool = True) -> dict:
    """The bench's journey on a stack of its own (its notification worker from `worker_root`),
    with the database's profiler on (`profile`): the commands per part, the database's CPU, and
    the push latency (completion → the FCM stand-in)."""
    phases = Phases()
    with ExitStack() as exit_stack:
        stack = Stack(run_dir, exit_stack, worker_root=worker_root)
        phases.run("start database and stand-ins", lambda: (stack.start_database(),
                                                            stack.start_standins()))
        phases.run("seed the catalogue", stack.seed)
        phases.run("boot gunicorn and worker, create officers", stack.start_api)
        phases.run("warm up", warm_up, stack)
        database = stack.mongo[DATABASE]
        if profile:
            database.command("profile", 2)
        cpu_before = psutil.Process(stack.database.process.pid).cpu_times()
        load = phases.run("journey load", locust, stack, "journey", stack.api_url, [
            "Citizen", "HealthOfficer", "CommunityHealthOfficer", "PublicSecurityOfficer",
            "MedicalInsuranceOfficer", "TaxationOfficer", "HrssOfficer"], CITIZENS + 6,
            JOURNEY_SECONDS + TAIL_SECONDS, {
                "BENCH_CITIZEN_SECONDS": JOURNEY_SECONDS, "BENCH_MAX_BIRTHS": MAX_BIRTHS,
                "BENCH_OFFICER_PREFIX": OFFICER_PREFIX,
                "BENCH_OFFICER_PASSWORD": stack.officer_password,
                "BENCH_PHONE_PREFIX": "137"}, cpu=True)
        cpu_after = psutil.Process(stack.database.process.pid).cpu_times()
        database.command("profile", 0)
        ports = owners(stack)
        entries = list(database["system.profile"].find({}, {"client": 1, "millis": 1, "ns": 1,
                                                            "command": 1}))
        births = load["state"].get("births_applied") or 0
        result = summarise(entries, ports, births)
        result["database_cpu_seconds"] = round(
            (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2)
        result["cpu"] = load.get("cpu")
        result["push"] = notification_latency(stack)
        result["load_average"] = list(psutil.getloadavg())
    return result


def main(argv: list[str] | None = None) -> int:
    command_line(__doc__, "python -m bench.db_profile").parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / f"profile-{stamp}"
    result = journey(run_dir)
    births = result["births"]
    path = write_result(result, run_dir, "profile-latest.json")
    say(f"{births} births; database CPU {result['database_cpu_seconds']} s "
        f"({result['database_cpu_seconds'] / max(1, births):.2f} s a birth, profiler included)")
    for part, figures in result["by_part"].items():
        print(f"{part:<36} {figures['commands_per_birth']:7.1f} commands "
              f"{figures['millis_per_birth']:8.1f} ms a birth")
    for row in result["by_command"][:25]:
        print(f"  {row['part']:<22} {row['command']:<14} {row['collection']:<26} "
              f"{row['commands']:6d} commands {row['millis']:7d} ms")
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
