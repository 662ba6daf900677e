"""What the runs recorded, made into figures: each endpoint's latencies and database commands,
the notification latency and where it goes, what a birth costs, the catalogue's rows."""
import json
import re
from contextlib import suppress
from datetime import datetime
from pathlib import Path

import requests

from bench import report
from bench.stack import DATABASE, Stack
from config import CONFIGS, Config


def endpoints_of(recorded: dict, seconds: float) -> list[dict]:
    rows = []
    for name, entry in sorted(recorded["endpoints"].items(), key=lambda kv: _route_order(kv[0])):
        if name.startswith("("):
            continue
        times = entry["times_ms"]
        requests_made = sum(entry["statuses"].values())
        rows.append({
            "name": name, "requests": requests_made,
            "rps": round(requests_made / seconds, 2) if seconds else None,
            "p50_ms": report.percentile(times, 0.50), "p95_ms": report.percentile(times, 0.95),
            "p99_ms": report.percentile(times, 0.99), "errors": entry["errors"],
            "statuses": entry["statuses"],
            "db_commands": report.db_commands(entry["db_commands"], report.BUDGETS.get(name)),
        })
    return rows



ORDER = ("/auth", "/assistant", "/me/devices", "/bundles", "/materials", "/applications",
         "/me/notifications", "/workbench")



def _route_order(name: str) -> tuple:
    path = name.split(" ", 1)[-1]
    rank = next((i for i, part in enumerate(ORDER) if part in path), len(ORDER))
    return rank, path, name



def apply_rate(recorded: dict, name: str) -> float | None:
    """Applications per second while applying: from the first answer to the last."""
    entry = recorded["endpoints"].get(name)
    if not entry or len(entry["times_ms"]) < 2 or entry["last"] <= entry["first"]:
        return None
    return (len(entry["times_ms"]) - 1) / (entry["last"] - entry["first"])



def notification_latency(stack: Stack) -> dict:
    """Commit of each task completion (its intent's `at`) → the FCM stand-in's receipt."""
    db = stack.mongo[DATABASE]
    notes = {n["_id"]: n for n in db.notifications.find(
        {"type": "task_completed"}, {"at": 1, "created_at": 1})}
    deliveries = {d["notification"]: d for d in db.notification_deliveries.find(
        {"type": "task_completed", "channel": "push"},
        {"notification": 1, "status": 1, "delivered_at": 1, "attempts": 1, "last_error": 1})}
    messages = requests.get(f"{stack.fcm_url}/_standin/messages", timeout=30).json()
    receipts: dict[str, float] = {}
    for message in messages:
        nid = (message.get("data") or {}).get("notification_id")
        if nid and nid not in receipts:
            receipts[nid] = message["at"]
    completions = {nid: n["at"].timestamp() for nid, n in notes.items()}
    figures = report.notification_latency(completions, receipts)
    # Where the time goes: waiting for the worker to relay the outbox, then sending.
    relay = [(n["created_at"] - n["at"]).total_seconds() * 1000 for n in notes.values()]
    send = [(receipts[nid] - n["created_at"].timestamp()) * 1000 for nid, n in notes.items()
            if nid in receipts]
    figures["commit_to_relay_ms"] = {"p50": report.percentile(relay, 0.5),
                                     "p99": report.percentile(relay, 0.99)}
    figures["relay_to_fcm_ms"] = {"p50": report.percentile(send, 0.5),
                                  "p99": report.percentile(send, 0.99)}
    statuses: dict[str, int] = {}
    for delivery in deliveries.values():
        statuses[delivery["status"]] = statuses.get(delivery["status"], 0) + 1
    figures["push_statuses"] = statuses
    figures["retried"] = sum(1 for d in deliveries.values() if d.get("attempts", 0) > 1)
    figures["fcm_stats"] = requests.get(f"{stack.fcm_url}/_standin/stats", timeout=5).json()
    figures["worker_rounds"] = worker_rounds(stack.worker.log_path)
    figures["cause"] = latency_cause(figures, stack.env, stack.worker.log_path)
    return figures



ROUND = re.compile(r"relayed (\d+), handled (\d+) deliveries")



def worker_rounds(log_path: Path) -> dict:
    """How long the worker's busy rounds took, from its log: a completion waits for the round
    in progress to end and for its own round to relay and send it."""
    stamps, sizes = [], []
    with suppress(OSError):
        for line in log_path.read_text(errors="replace").splitlines():
            with suppress(ValueError, KeyError):
                entry = json.loads(line)
                found = ROUND.search(entry["message"])
                if found:
                    stamps.append(datetime.fromisoformat(entry["time"]).timestamp())
                    sizes.append(int(found.group(1)) + int(found.group(2)))
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
    return {"busy_rounds": len(stamps), "p50_ms": report.percentile(gaps, 0.5),
            "max_ms": max(gaps) if gaps else None,
            "items_p50": report.percentile(sizes, 0.5), "items_max": max(sizes, default=None)}



def latency_cause(figures: dict, env: dict, log_path: Path | None = None) -> str:
    """Where a completion's push spends its time, in numbers, when the target is missed."""
    if figures["p99_ms"] is None:
        return "no completion was pushed: see the notification worker's log"
    if figures["met"]:
        return ""
    relay, send = figures["commit_to_relay_ms"], figures["relay_to_fcm_ms"]
    rounds = figures.get("worker_rounds") or {}
    parts = []
    if figures["missing"]:
        parts.append(f"{figures['missing']} completions never reached FCM "
                     f"(push deliveries: {figures['push_statuses']})")
    parts.append(f"commit → inbox (relay) p50 {relay['p50'] or 0:.0f} ms, p99 "
                 f"{relay['p99'] or 0:.0f} ms; inbox → FCM p50 {send['p50'] or 0:.0f} ms, p99 "
                 f"{send['p99'] or 0:.0f} ms")
    if rounds.get("busy_rounds"):
        parts.append(f"one worker works in rounds (relay every pending outbox in a few commands, "
                     f"push what it relayed, then claim what else is due) that took p50 "
                     f"{rounds['p50_ms'] or 0:.0f} ms, max {rounds['max_ms'] or 0:.0f} ms for p50 "
                     f"{rounds['items_p50'] or 0:.0f} intents+deliveries: a completion waits for "
                     f"the round in progress, then for its own")
    parts.append(waking(env, log_path))
    return "; ".join(parts)


# What the worker logs when the database refuses it a change stream (notifications.worker).
NO_CHANGE_STREAMS = "no change streams here"


def waking(env: dict, log_path: Path | None) -> str:
    """How an idle worker learnt of a new intent in this run: woken by a change stream on the
    outboxes (NOTIFICATION_WAKE_ON_CHANGES, on unless turned off), or polling where it is off
    or the database refused the stream."""
    config = CONFIGS.get(env.get("APP_ENV") or "development", Config)
    poll = float(env.get("NOTIFICATION_POLL_SECONDS") or config.NOTIFICATION_POLL_SECONDS)
    setting = env.get("NOTIFICATION_WAKE_ON_CHANGES")
    watching = (config.NOTIFICATION_WAKE_ON_CHANGES if setting is None
                else setting.strip().lower() in ("1", "true", "yes", "on"))
    refused = False
    if watching and log_path is not None:
        with suppress(OSError):
            refused = NO_CHANGE_STREAMS in log_path.read_text(errors="replace")
    if watching and not refused:
        return "an idle worker is woken by a change stream the moment an outbox gains an intent"
    why = "the database refused a change stream" if refused else "NOTIFICATION_WAKE_ON_CHANGES off"
    return f"an idle worker polls every NOTIFICATION_POLL_SECONDS={poll:g} s ({why})"



LIST, LIST_FILTERED = "list (page n of all)", "list filtered"

SEARCHES = {"search zh word": "zh word", "search zh phrase": "zh phrase",
            "search zh colloquial": "zh colloquial", "search en": "en",
            "search + filter": "with filters", "bundles by words": "bundles",
            "bundle detail": "bundle page", "bundle detail in a region": "bundle page of a region"}



def catalogue_rows(scales: dict) -> list[dict]:
    one, ten = scales.get("1x") or {}, scales.get("10x") or {}

    def p95(scale: dict, scenario: str) -> str:
        figure = ((scale.get("latency") or {}).get(scenario) or {}).get("p95_ms")
        return "-" if figure is None else f"{figure:,.0f}"

    rows = []
    for scale in (one, ten):
        if scale.get("error"):
            rows.append({"label": "catalogue scale", "figure": f"not measured: {scale['error']}"})
    if not one.get("latency") and not ten.get("latency"):
        return rows
    sizes = f"{one.get('matters', 0):,} → {ten.get('matters', 0):,} matters"
    rows.append({"label": "catalogue list p95, 1x → 10x",
                 "figure": f"{p95(one, LIST)} → {p95(ten, LIST)} ms; filtered "
                           f"{p95(one, LIST_FILTERED)} → {p95(ten, LIST_FILTERED)} ms ({sizes})"})
    rows.append({"label": "catalogue search p95, 1x → 10x",
                 "figure": ", ".join(f"{label} {p95(one, key)} → {p95(ten, key)}"
                                     for key, label in SEARCHES.items()) + " ms"})
    if ten.get("generate_s") is not None:
        first = one.get("index_build_s", 0)
        started = ten.get("first_search_after_start_ms")
        rows.append({"label": "catalogue at 10x, once",
                     "figure": f"generated in {ten['generate_s']:.0f} s; the search index "
                               f"built from every matter in {ten['index_build_s']:.1f} s "
                               f"(1x: {first:.1f} s)" + (
                                   f"; a process starting from its snapshot answers its first "
                                   f"search in {started:,.0f} ms" if started is not None
                                   else "")})
    return rows



def assistant_figures(endpoints: list[dict]) -> dict | None:
    row = next((e for e in endpoints if e["name"] == "POST /api/v1/assistant/messages"), None)
    if row is None:
        return None
    return {"p50_ms": row["p50_ms"], "p95_ms": row["p95_ms"], "turns": row["requests"],
            "errors": row["errors"], "via": "POST /api/v1/assistant/messages under load"}



ZHEJIANG_BIRTHS_A_YEAR = 400_000

PRODUCT = ("api (gunicorn)", "database", "notification worker")



def capacity(journey: dict, endpoints: list[dict]) -> dict | None:
    """What one birth costs this machine (API, database and worker, from the journey's CPU
    time and births), and so how many births a day one such machine carries at full load: all
    its cores busy, or the database's one core busy (the embedded server is one Python
    process), whichever comes first."""
    cpu, births = journey.get("cpu"), journey["state"].get("births_applied") or 0
    if not cpu or not births:
        return None
    used = cpu["cores_used"]
    per_birth = sum(used.get(part, 0) for part in PRODUCT) * cpu["seconds"] / births
    database_per_birth = used.get("database", 0) * cpu["seconds"] / births
    requests_made = sum(e["requests"] for e in endpoints
                        if e["name"] != "POST /api/v1/auth/staff-login")
    polls = sum(e["requests"] for e in endpoints if e["name"] == "GET /api/v1/workbench/tasks")
    limits = {"all cores": 86_400 * (cpu.get("cores") or 1) / per_birth}
    if database_per_birth:
        limits["the database's one core"] = 86_400 / database_per_birth
    bound = min(limits, key=limits.get)
    daily = ZHEJIANG_BIRTHS_A_YEAR / 365
    return {"births": births, "cpu_seconds_per_birth": round(per_birth, 2),
            "database_cpu_seconds_per_birth": round(database_per_birth, 2),
            "requests_per_birth": round(requests_made / births, 1),
            "queue_polls_per_birth": round(polls / births, 1),
            "births_per_day_at_full_load": round(limits[bound]), "bound_by": bound,
            "zhejiang_births_per_day": round(daily),
            "zhejiang_share_of_one_machine": round(daily / limits[bound], 4)}
