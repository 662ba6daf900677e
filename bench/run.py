"""`make bench`: start the stack as production runs it, load it over HTTP, print one table.

Everything listens on 127.0.0.1 and runs in its own process group; every exit path (an error,
Ctrl+C, SIGTERM) stops what was started. Sizes are set for a 2-core machine and a run of under
five minutes; each can be changed from the environment (BENCH_CITIZENS, BENCH_JOURNEY_SECONDS,
BENCH_APPLY_USERS, BENCH_APPLY_SECONDS, BENCH_MAX_BIRTHS). BENCH_TRACE=1 prints the database
commands of every endpoint, not only of those over their budget.
"""
import os
import platform
import shutil
import signal
import sys
from contextlib import suppress

from bench import birth_cost, report
from bench.figures import (
    apply_rate,
    assistant_figures,
    capacity,
    endpoints_of,
    notification_latency,
)
from bench.processes import VAR, Phases, command_line, say, write_result
from bench.scenarios import (
    apply_only,
    baseline,
    catalogue_scale,
    drain,
    locust,
    reform_scale,
    trace,
    warm_up,
)
from bench.settings import (
    APPLY_SECONDS,
    APPLY_USERS,
    BIRTH_COST_BIRTHS,
    CITIZENS,
    DRAIN_SECONDS,
    JOURNEY_SECONDS,
    MAX_BIRTHS,
    TAIL_SECONDS,
    TIME_LIMIT,
    TRACE_ALL,
)
from bench.stack import DATABASE, DEPARTMENTS, OFFICER_PREFIX, Stack, new_run, run_on_stack
from bench.streams_bench import live_streams
from common.embedded_db import stop_on_sigterm


def measure(stack: Stack, phases: Phases, result: dict) -> None:
    stack.start(phases)
    rss_start = stack.workers_rss()
    result["warm_up"] = phases.run("warm up", warm_up, stack)

    journey = phases.run("journey load", locust, stack, "journey", stack.api_url, [
        "Citizen", "HealthOfficer", "CommunityHealthOfficer", "PublicSecurityOfficer",
        "MedicalInsuranceOfficer", "TaxationOfficer", "HrssOfficer"], CITIZENS + 6,
        JOURNEY_SECONDS + TAIL_SECONDS, {
            "BENCH_CITIZEN_SECONDS": JOURNEY_SECONDS, "BENCH_MAX_BIRTHS": MAX_BIRTHS,
            "BENCH_OFFICER_PREFIX": OFFICER_PREFIX,
            "BENCH_OFFICER_PASSWORD": stack.officer_password, "BENCH_PHONE_PREFIX": "137"},
        cpu=True)
    rss_warm = stack.workers_rss()
    seconds = journey["ended"] - journey["started"]
    result["cpu"] = {"journey": journey.get("cpu")}
    result["endpoints"] = endpoints_of(journey, seconds)
    result["journey"] = {"seconds": round(seconds, 1), **journey["state"],
                         "errors": journey["errors"]}
    result["budgets"] = report.budget_verdicts(result["endpoints"])
    result["capacity"] = capacity(journey, result["endpoints"])
    result["assistant"] = assistant_figures(result["endpoints"])
    if result["assistant"]:
        result["assistant"]["cold_turn_ms"] = result["warm_up"]["assistant_cold_turn_ms"]

    result["drain"] = phases.run("deliver remaining pushes", drain, stack, DRAIN_SECONDS)
    result["journey"]["applications"] = {
        row["_id"]: row["n"] for row in stack.mongo[DATABASE].applications.aggregate(
            [{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}
    result["notifications"] = notification_latency(stack)
    try:
        result["db_command_trace"] = phases.run("trace database commands", trace, stack)
    except RuntimeError as exc:  # a diagnosis: its failure must not hide the figures
        result["db_command_trace"] = {"error": str(exc)[-3000:]}
        say(f"the trace failed: {failure_cause(str(exc))}")

    # Both apply-only runs compare the request path alone: the notification worker, which the
    # baseline does not have, is paused meanwhile (it would take the database's one core).
    os.kill(stack.worker.pid, signal.SIGSTOP)
    ours = phases.run("apply-only load (ours)", apply_only, stack, "apply", "136")
    result["cpu"]["apply"] = ours.get("cpu")
    backlog = list(stack.mongo[DATABASE].applications.aggregate([
        {"$match": {"outbox_pending": True}},
        {"$group": {"_id": None, "intents": {"$sum": {"$size": "$outbox"}}}}]))
    rss_end = stack.workers_rss()
    result["memory"] = {"workers": report.memory_verdicts([
        {"pid": pid, "start_bytes": rss, "warm_bytes": rss_warm.get(pid),
         "end_bytes": rss_end.get(pid)} for pid, rss in rss_start.items()]),
        "limit": report.MEMORY_GROWTH_LIMIT}
    # Resumed so that it can leave cleanly; stopping our API stops it too, so the baseline
    # runs without it as well.
    with suppress(ProcessLookupError):
        os.kill(stack.worker.pid, signal.SIGCONT)
    phases.run("stop our API", stack.stop_api)
    bare = phases.run("apply-only load (baseline)", baseline, stack)
    result["overhead"] = {
        **report.overhead(apply_rate(ours, "POST /api/v1/applications"),
                          apply_rate(bare, "POST /apply (baseline)")),
        "users": APPLY_USERS, "seconds": APPLY_SECONDS, "citizens": ours["citizens"],
        "worker_backlog_intents": backlog[0]["intents"] if backlog else 0,
        "ours_errors": (ours["endpoints"].get("POST /api/v1/applications") or {}).get("errors"),
        "baseline_errors": (bare["endpoints"].get("POST /apply (baseline)") or {}).get("errors"),
        "ours_p50_ms": report.percentile(
            (ours["endpoints"].get("POST /api/v1/applications") or {}).get("times_ms") or [], .5),
        "baseline_p50_ms": report.percentile(
            (bare["endpoints"].get("POST /apply (baseline)") or {}).get("times_ms") or [], .5),
    }
    result["reform"] = phases.run("reform figures at two sizes", reform_scale, stack, phases,
                                  TIME_LIMIT)
    result["catalogue"] = phases.run("catalogue at 1x and 10x", catalogue_scale, stack, phases,
                                     TIME_LIMIT)
    result["streams"] = phases.run("live streams on one make serve worker", live_streams, stack)
    birth = phases.run("a birth's database work, one at a time", birth_cost.in_subprocess,
                       BIRTH_COST_BIRTHS)
    result["birth_cost"] = {**birth, "rows": birth_cost.rows(birth)}



def failure_cause(error: str) -> str:
    """A failed command's first line and, after its log lines, the last one: what stopped it
    (a traceback's exception, or the message the command left with)."""
    lines = [line for line in error.splitlines() if line.strip()]
    if len(lines) <= 1:
        return error.strip()
    return f"{lines[0]} … {lines[-1]}"


def explain_budgets(result: dict) -> list[str]:
    """The commands behind each endpoint over budget, and behind relaying one intent when the
    notification target is missed (everything with BENCH_TRACE=1)."""
    traced = result.get("db_command_trace") or {}
    over = {v["endpoint"] for v in result.get("budgets") or [] if not v["ok"]}
    shown = {e: c for e, c in (traced.get("summary") or {}).items() if TRACE_ALL or e in over}
    relay = traced.get("relay")
    if relay and (TRACE_ALL or not (result.get("notifications") or {}).get("met")):
        shown[relay["endpoint"]] = relay["commands"]
    lines = []
    for endpoint, commands in shown.items():
        mark = " (over budget)" if endpoint in over else ""
        lines.append(f"{endpoint}{mark}: {len(commands)} database commands")
        lines += [f"    {n + 1}. {c}" for n, c in enumerate(commands)]
    return lines



def prune_old_runs(keep: int) -> None:
    """Each run leaves its logs and figures in var/bench/<time>/; the last few are kept."""
    runs = sorted(p for p in VAR.glob("2*") if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)



def main(argv: list[str] | None = None) -> int:
    command_line(__doc__, "python -m bench.run").parse_args(argv)
    stop_on_sigterm()
    stamp, run_dir = new_run()
    result: dict = {"run": {"started_at": stamp, "machine": {
        "cores": os.cpu_count(), "python": platform.python_version(),
        "system": platform.platform()}, "settings": {
        "citizens": CITIZENS, "officers": len(DEPARTMENTS), "journey_seconds": JOURNEY_SECONDS,
        "tail_seconds": TAIL_SECONDS, "apply_users": APPLY_USERS,
        "apply_seconds": APPLY_SECONDS, "max_births": MAX_BIRTHS,
        "gunicorn": "2 workers x 4 threads"}}}
    try:
        phases = run_on_stack(run_dir, result, lambda stack, phases: measure(stack, phases,
                                                                             result))
    finally:
        prune_old_runs(keep=5)
    result["run"]["total_seconds"] = phases.total
    result["exit_code"] = report.exit_code(result)
    write_result(result, run_dir, "latest.json")

    print()
    print(report.render(result))
    for line in explain_budgets(result):
        print(line)
    if result.get("failure"):
        print(f"The run broke: {result['failure']}")
    verdicts = [v for v in result.get("budgets") or [] if not v["ok"]]
    for verdict in verdicts:
        print(f"BUDGET EXCEEDED: {verdict['endpoint']}: {verdict['why']}")
    print(f"Results: {VAR / 'latest.json'} (logs in {run_dir / 'logs'})")
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
