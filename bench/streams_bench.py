"""A thousand live event streams (`GET /me/events`) held by one serving process of `make serve`'s
gunicorn: every stream receives a notification within a second of its creation, heartbeats come
on time, the process stays small and `/healthz` answers promptly meanwhile.

The bench process holds the streams itself (asyncio, one socket each); two one-shot commands of
this module run under the application: `prepare` makes the citizens and signs their access
tokens as a login does, with a completed task's intent waiting in an outbox for each; `notify`
relays them as the notification worker does. Each latency runs from the moment the bench first
sees the notification stored to its arrival on the stream. `python -m bench.streams_bench` runs
this measurement alone.
"""
import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import psutil
from flask import current_app

from api import create_app
from bench import report
from bench.processes import HOST, PYTHON, ROOT, run_command, wait_http
from bench.settings import setting
from bench.stack import DATABASE, Stack
from common.embedded_db import free_port
from manage import gunicorn_argv
from models.application import Application, Task
from models.user import Role, User
from notifications import relay
from services.identity.tokens import issue_access_token

STREAMS = int(setting("BENCH_STREAMS", 1000))
HOLD_SECONDS = setting("BENCH_STREAMS_HOLD_SECONDS", 12)
HEARTBEAT_SECONDS = 4.0
OBSERVE_SECONDS = 0.05
TARGETS = {"within_ms": 1000, "memory_mb": 300, "healthz_ms": 250}
EVENTS = "/api/v1/me/events"


class Client:
    """One stream: connected, then every heartbeat's and the first notification's arrival."""

    def __init__(self, token: str):
        self.token = token
        self.connected = asyncio.Event()
        self.connected_at = 0.0
        self.beats: list[float] = []  # heartbeats and notifications, as they arrived
        self.received: dict[str, float] = {}  # notification id → when it arrived (epoch s)
        self.error: str | None = None

    async def hold(self, port: int, until: asyncio.Event) -> None:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write((f"GET {EVENTS} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                          f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n"
                          "\r\n").encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            self.connected_at = time.time()
            while not until.is_set():
                line = await reader.readline()
                if not line:
                    lasted = time.time() - self.connected_at
                    raise RuntimeError(f"the stream ended after {lasted:.1f} s")
                self._read(line.decode(errors="replace"))
        except (OSError, RuntimeError, asyncio.IncompleteReadError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"[:200]
            self.connected.set()
        finally:
            if writer is not None:
                writer.close()

    def _read(self, line: str) -> None:
        # Chunk sizes come as lines too: only what the stream says is looked at.
        now = time.time()
        if line.startswith(": connected"):
            self.connected.set()
        elif line.startswith(": heartbeat"):
            self.beats.append(now)
        elif line.startswith("data: "):
            found = json.loads(line[6:])
            self.received.setdefault(found["id"], now)
            self.beats.append(now)  # anything sent restarts the heartbeat's clock


async def healthz(port: int) -> float:
    begun = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 20)
    await reader.read()
    writer.close()
    if b" 200 " not in status:
        raise RuntimeError(f"/healthz answered {status!r}")
    return (time.monotonic() - begun) * 1000


async def _load(port: int, tokens: list[str], notify, rss) -> dict:
    clients = [Client(token) for token in tokens]
    stop = asyncio.Event()
    opening = asyncio.Semaphore(100)

    async def open_one(client: Client) -> None:
        async with opening:
            task = asyncio.create_task(client.hold(port, stop))
            await client.connected.wait()
        await task

    began = time.monotonic()
    holding = [asyncio.create_task(open_one(c)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)
    connected_s = time.monotonic() - began
    checks, memory = [], 0
    held_from = time.time()
    notifying, relayed_at = None, 0.0
    while True:
        checks.append(await healthz(port))
        memory = max(memory, rss())
        now = time.time()
        if notifying is None and now - held_from > HOLD_SECONDS / 3:
            notifying = asyncio.create_task(asyncio.to_thread(notify))
        if notifying is not None and notifying.done():
            notifying.result()
            relayed_at = relayed_at or now
            everyone = all(c.received or c.error for c in clients)
            if now - held_from >= HOLD_SECONDS and (everyone or now - relayed_at > 5):
                break
        await asyncio.sleep(0.25)
    ended_at = time.time()
    stop.set()
    for task in holding:
        task.cancel()
    await asyncio.gather(*holding, return_exceptions=True)
    return {"clients": clients, "connected_s": connected_s, "healthz_ms": checks,
            "held_from": held_from, "ended_at": ended_at, "memory_bytes": memory}


def measure(stack: Stack) -> dict:
    """Boot `make serve`'s gunicorn with one worker, hold STREAMS streams on it, notify each
    citizen once, and tell what the streams and the process saw."""
    tokens_file = stack.run_dir / "stream-tokens.json"
    run_command([PYTHON, "-m", "bench.streams_bench", "prepare", "--count", str(STREAMS),
                 "--out", str(tokens_file)], stack.env, stack.logs, "streams-prepare",
                timeout=300)
    tokens = json.loads(tokens_file.read_text())
    port = free_port(HOST)
    env = {**stack.env, "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
           "SSE_MAX_SECONDS": "600"}
    api = stack.service("gunicorn-streams", gunicorn_argv(f"{HOST}:{port}", workers=1),
                        env=env)
    try:
        wait_http(f"http://{HOST}:{port}/readyz", api, timeout=90)
        worker = psutil.Process(api.pid).children()[0]

        def notify() -> None:
            run_command([PYTHON, "-m", "bench.streams_bench", "notify"], stack.env, stack.logs,
                        "streams-notify", timeout=600)

        observer = Observer(stack.mongo[DATABASE].notifications)
        observer.start()
        try:
            seen = asyncio.run(_load(port, [t["token"] for t in tokens], notify,
                                     lambda: worker.memory_info().rss))
        finally:
            observer.stop()
    finally:
        api.stop(10)
    return figures(stack, tokens, seen, observer.stored)


class Observer(threading.Thread):
    """When each notification was first seen stored, looking every OBSERVE_SECONDS: the moment
    a stream can know of it. (The relay stamps `created_at` when a batch begins; under load the
    batch is stored seconds later, which is the relay's time, not the streams'.)"""

    def __init__(self, collection):
        super().__init__(name="stored-notifications", daemon=True)
        self.collection, self.stored = collection, {}
        self.since = datetime.now(UTC)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(OBSERVE_SECONDS):
            rows = list(self.collection.find({"created_at": {"$gte": self.since}}, {"_id": 1}))
            now = time.time()
            for row in rows:
                self.stored.setdefault(row["_id"], now)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def live_streams(stack: Stack) -> dict:
    """`make bench`'s phase: the figures and their lines of the table; a failure is reported,
    never hides the other figures."""
    try:
        result = measure(stack)
    except (RuntimeError, OSError, TimeoutError) as exc:
        result = {"error": str(exc).splitlines()[0][:500]}
    return {**result, "rows": rows(result)}


def figures(stack: Stack, tokens: list[dict], seen: dict, stored: dict[str, float]) -> dict:
    created = {row["_id"]: (row["recipient"], row["created_at"].timestamp())
               for row in stack.mongo[DATABASE].notifications.find(
                   {"recipient": {"$in": [t["user"] for t in tokens]}},
                   {"recipient": 1, "created_at": 1})}
    mine: dict[str, list[str]] = {}
    for nid, (user, _) in created.items():
        mine.setdefault(user, []).append(nid)
    latencies, stamped, missing = [], [], 0
    for client, token in zip(seen["clients"], tokens, strict=True):
        for nid in mine.get(token["user"], []):
            if nid not in client.received:
                missing += 1
                continue
            stamped.append((client.received[nid] - created[nid][1]) * 1000)
            if nid in stored:
                latencies.append(max(0.0, client.received[nid] - stored[nid]) * 1000)
    gaps = []
    for client in seen["clients"]:
        beats = [client.connected_at, *client.beats, seen["ended_at"]]
        gaps += [(b - a, a - seen["held_from"]) for a, b in zip(beats, beats[1:], strict=False)]
    worst = max(gaps, default=(None, None))
    errors = [c.error for c in seen["clients"] if c.error]
    within = sum(1 for ms in latencies if ms <= TARGETS["within_ms"])
    memory_mb = seen["memory_bytes"] / 2**20
    health = seen["healthz_ms"]
    result = {
        "streams": len(tokens), "errors": len(errors), "first_errors": errors[:3],
        "connected_s": round(seen["connected_s"], 1), "notified": len(created),
        "received": len(latencies), "missing": missing, "within_1s": within,
        "latency_from_relay_stamp_ms": {"p50": report.percentile(stamped, .5),
                                        "p99": report.percentile(stamped, .99)},
        "observed_every_ms": OBSERVE_SECONDS * 1000,
        "latency_ms": {"p50": report.percentile(latencies, .5),
                       "p99": report.percentile(latencies, .99),
                       "max": round(max(latencies), 1) if latencies else None},
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        "heartbeat_gap_max_s": round(worst[0], 2) if gaps else None,
        # When the longest wait began, from the moment every stream was open (negative: while
        # they were opening).
        "heartbeat_gap_max_began_s": round(worst[1], 1) if gaps else None,
        "worker_rss_mb": round(memory_mb, 1),
        "healthz_ms": {"n": len(health), "p50": report.percentile(health, .5),
                       "max": round(max(health), 1) if health else None},
        "server": "make serve's gunicorn (manage.gunicorn_argv) with one worker",
        "targets": TARGETS,
    }
    result["met"] = bool(
        not errors and latencies and not missing and within == len(latencies) == len(tokens)
        and memory_mb < TARGETS["memory_mb"] and health
        and max(health) < TARGETS["healthz_ms"] and gaps
        and worst[0] < HEARTBEAT_SECONDS + 1.0)
    return result


def rows(result: dict | None) -> list[dict]:
    """The table's lines."""
    if not result:
        return []
    if result.get("error"):
        return [{"label": "live streams", "figure": f"not measured: {result['error']}"}]
    latency, health = result["latency_ms"], result["healthz_ms"]
    return [{"label": f"{result['streams']:,} live streams, one process",
             "figure": f"{result['within_1s']:,}/{result['streams']:,} notified within 1 s "
                       f"(p50 {latency['p50'] or 0:,.0f}, p99 {latency['p99'] or 0:,.0f}, max "
                       f"{latency['max'] or 0:,.0f} ms), {result['errors']} errors; worker "
                       f"{result['worker_rss_mb']:,.0f} MB; /healthz p50 {health['p50'] or 0:,.0f}"
                       f", max {health['max'] or 0:,.0f} ms; heartbeat gap max "
                       f"{result['heartbeat_gap_max_s']} s (every {result['heartbeat_seconds']:g}"
                       f" s){'' if result['met'] else ' — TARGET MISSED'}"}]


# ── The one-shot commands, run under the application ─────────────────────────────────────────


def prepare(count: int, out: Path) -> None:
    """Citizens, each with an access token signed as a login signs it, and an application whose
    outbox holds a completed task's intent for them, as the workflow leaves it."""
    users = User.objects.insert([User(role=str(Role.CITIZEN), name=f"Stream {n}", locale="zh-CN")
                                 for n in range(count)])
    now = datetime.now(UTC)
    applications = []
    for user in users:
        intent = {"id": uuid.uuid4().hex, "type": "task_completed", "at": now,
                  "recipient": str(user.id), "bundle": "newborn", "task": uuid.uuid4().hex,
                  "matter": "newborn_household_registration", "department": "public_security",
                  "data": {"outputs": ["citizen_id_number"]}}
        applications.append(Application(
            applicant=str(user.id), bundle="newborn", bundle_version=1,
            subject={"kind": "self"}, outbox=[intent], outbox_pending=True,
            tasks=[Task(id=intent["task"], matter="newborn_household_registration",
                        department="public_security", status="completed")]))
    Application.objects.insert(applications)
    tokens = [{"user": str(u.id), "token": issue_access_token(u)[0]} for u in users]
    out.write_text(json.dumps(tokens))


def notify() -> None:
    """Relay the waiting intents as the worker relays: in batches of its size, each stamped when
    its relay begins."""
    while True:
        begun = time.monotonic()
        moved = relay.relay_pending(limit=int(current_app.config["NOTIFICATION_BATCH_SIZE"]))
        if not moved:
            return
        print(f"relayed {moved} in {time.monotonic() - begun:.2f} s", flush=True)


def alone() -> int:
    """This measurement without the rest of `make bench`: database, stand-ins, seed, streams."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with ExitStack() as exits:
        stack = Stack(ROOT / "var" / "bench" / f"streams-{stamp}", exits)
        stack.start_database()
        stack.start_standins()
        stack.seed()
        result = measure(stack)
    (stack.run_dir / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    for row in rows(result):
        print(f"{row['label']}: {row['figure']}")
    return 0 if result["met"] else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    made = commands.add_parser("prepare")
    made.add_argument("--count", type=int, required=True)
    made.add_argument("--out", type=Path, required=True)
    commands.add_parser("notify")
    args = parser.parse_args()
    if args.command is None:
        sys.exit(alone())
    os.environ.setdefault("ASSISTANT_WARM_UP", "false")
    os.environ.setdefault("CATALOGUE_WARM_UP", "false")
    with create_app().app_context():
        if args.command == "prepare":
            prepare(args.count, args.out)
        else:
            notify()


if __name__ == "__main__":
    main()
