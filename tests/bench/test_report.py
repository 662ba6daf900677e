"""`make bench`'s verdicts: budgets on database commands decide its exit code; figures do not."""

from bench import report
from bench.run import failure_cause
from bench.trace import describe, summarize


def endpoint(name: str, counts: list[int]) -> dict:
    return {"name": name, "rps": 1.0, "p50_ms": 10, "p95_ms": 20, "p99_ms": 30, "errors": 0,
            "db_commands": report.db_commands(counts, report.BUDGETS.get(name))}


def within_budget() -> list[dict]:
    return [endpoint("POST /api/v1/applications", [4, 4, 4]),
            endpoint("POST /api/v1/workbench/tasks/{id}/claim", [1, 1]),
            endpoint("POST /api/v1/workbench/tasks/{id}/complete", [2, 1, 2]),
            endpoint("GET /api/v1/applications/{id}", [1, 1]),
            endpoint("GET /api/v1/me/notifications", [2, 2]),
            endpoint("POST /api/v1/materials", [6, 4, 4]),
            endpoint("POST /api/v1/auth/otp", [3, 3]),
            endpoint("POST /api/v1/auth/login", [3, 3]),
            endpoint("POST /api/v1/auth/staff-login", [3, 3])]


def run_with(endpoints: list[dict]) -> dict:
    return {"endpoints": endpoints, "budgets": report.budget_verdicts(endpoints)}


def test_a_run_within_every_budget_exits_zero():
    assert report.exit_code(run_with(within_budget())) == 0


def test_applying_with_more_database_commands_than_its_budget_exits_non_zero():
    endpoints = within_budget()
    endpoints[0] = endpoint("POST /api/v1/applications", [6, 6, 6])

    result = run_with(endpoints)

    assert report.exit_code(result) == 1
    over = [v for v in result["budgets"] if not v["ok"]]
    assert [(v["endpoint"], v["typical"], v["budget"]) for v in over] == [
        ("POST /api/v1/applications", 6, 4)]


def test_reading_the_inbox_one_command_over_its_budget_exits_non_zero():
    endpoints = within_budget()
    endpoints[4] = endpoint("GET /api/v1/me/notifications", [3, 3])

    assert report.exit_code(run_with(endpoints)) == 1


def test_a_budgeted_endpoint_the_run_never_measured_does_not_hold():
    endpoints = [e for e in within_budget() if "claim" not in e["name"]]

    result = run_with(endpoints)

    assert report.exit_code(result) == 1
    assert "not measured" in next(v["why"] for v in result["budgets"] if "claim" in v["endpoint"])


def test_an_occasional_retry_after_a_lost_race_is_counted_but_the_typical_figure_decides():
    figure = report.db_commands([2, 2, 2, 2, 7], budget=2)

    assert (figure["typical"], figure["max"], figure["over_budget"]) == (2, 7, 1)
    endpoints = within_budget()
    endpoints[2] = {**endpoints[2], "db_commands": figure}
    assert report.exit_code(run_with(endpoints)) == 0


def test_a_broken_run_exits_non_zero_even_without_budget_failures():
    result = {**run_with(within_budget()), "failure": "RuntimeError: gunicorn exited at start"}

    assert report.exit_code(result) == 2


def test_latency_throughput_and_memory_misses_are_reported_not_fatal():
    result = run_with(within_budget())
    result["notifications"] = report.notification_latency({"a": 0.0}, {"a": 5.0})
    result["overhead"] = report.overhead(1.0, 10.0)
    result["memory"] = {"workers": report.memory_verdicts(
        [{"pid": 1, "start_bytes": 100, "end_bytes": 150}])}

    assert not result["notifications"]["met"] and not result["overhead"]["met"]
    assert result["memory"]["workers"][0]["flagged"]
    assert report.exit_code(result) == 0


def test_memory_growth_beyond_ten_percent_is_flagged_and_within_it_is_not():
    grown, steady = report.memory_verdicts([
        {"pid": 1, "start_bytes": 100 * 2**20, "end_bytes": 111 * 2**20},
        {"pid": 2, "start_bytes": 100 * 2**20, "end_bytes": 109 * 2**20}])

    assert grown["flagged"] and not steady["flagged"]
    assert grown["growth"] == 0.11


def test_memory_is_judged_after_the_first_load_the_modules_and_caches_it_loads_are_no_leak():
    warming, leaking = report.memory_verdicts([
        {"pid": 1, "start_bytes": 100 * 2**20, "warm_bytes": 112 * 2**20,
         "end_bytes": 113 * 2**20},
        {"pid": 2, "start_bytes": 100 * 2**20, "warm_bytes": 101 * 2**20,
         "end_bytes": 112 * 2**20}])

    assert not warming["flagged"] and warming["growth"] == 0.13
    assert leaking["flagged"]


def test_notification_latency_runs_from_the_commit_to_the_push_receipt():
    completions = {f"n{i}": 100.0 for i in range(100)}
    receipts = {f"n{i}": 100.0 + (i + 1) / 1000 for i in range(100)}  # 1 ms … 100 ms

    figures = report.notification_latency(completions, receipts)

    assert (figures["p50_ms"], figures["p99_ms"], figures["pushed"]) == (50.0, 99.0, 100)
    assert figures["met"]


def test_a_push_p99_of_400_ms_misses_the_target_of_issue_20():
    completions = {f"n{i}": 100.0 for i in range(100)}
    receipts = {f"n{i}": 100.0 + (0.4 if i >= 95 else 0.1) for i in range(100)}

    figures = report.notification_latency(completions, receipts)

    assert figures["p99_ms"] == 400.0 and figures["target_p99_ms"] == 300.0
    assert not figures["met"]


def test_a_completion_whose_push_never_arrived_misses_the_notification_target():
    figures = report.notification_latency({"a": 0.0, "b": 0.0}, {"a": 0.1})

    assert figures["missing"] == 1 and not figures["met"]


def test_the_overhead_ratio_is_our_throughput_over_the_baselines():
    assert report.overhead(30.0, 40.0) == {"ours_rps": 30.0, "baseline_rps": 40.0,
                                           "ratio": 0.75, "target": 0.7, "met": True}


def test_the_table_prints_each_budget_beside_its_figure():
    endpoints = within_budget()
    endpoints[0] = endpoint("POST /api/v1/applications", [12, 12, 13])

    table = report.render(run_with(endpoints))

    applying = next(line for line in table.splitlines() if "POST /api/v1/applications" in line)
    assert "12 (≤13)" in applying and "≤ 4 OVER" in applying
    claiming = next(line for line in table.splitlines() if "/claim" in line)
    assert "≤ 1 ok" in claiming


def test_a_traced_command_names_its_collection_and_what_it_selects_on():
    assert describe("find", {"find": "applications", "filter": {"_id": 1, "version": 2}}) == \
        "find applications {_id, version}"
    assert describe("insert", {"insert": "notifications", "documents": [{}]}) == \
        "insert notifications (1 doc)"
    assert describe("update", {"update": "materials", "updates": [{"q": {"dedup_key": 1}}]}) \
        == "update materials {dedup_key}"


def test_the_trace_reports_each_endpoints_most_common_shape_of_successful_requests():
    requests = [
        {"endpoint": "GET /x", "status": 200, "commands": ["find a"]},
        {"endpoint": "GET /x", "status": 200, "commands": ["find a"]},
        {"endpoint": "GET /x", "status": 200, "commands": ["find a", "find b"]},
        {"endpoint": "GET /y", "status": 404, "commands": ["find c"]},
    ]

    assert summarize(requests) == {"GET /x": ["find a"]}


def test_a_failed_trace_is_reported_with_what_stopped_it_after_its_log_lines():
    error = ("trace failed (1):\n{\"level\": \"INFO\", \"message\": \"material kept\"}\n"
             "the trace's POST /api/v1/applications was answered 403: real_name_required\n")

    assert failure_cause(error) == ("trace failed (1): … the trace's POST /api/v1/applications "
                                    "was answered 403: real_name_required")
    assert failure_cause("did not finish within 120s") == "did not finish within 120s"
