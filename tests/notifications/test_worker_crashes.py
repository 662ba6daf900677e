"""Worker processes killed with SIGKILL mid-send, after a send before its record, and at random
lose no notification; every repeated push carries the notification id of the first."""
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from models.device import Device
from models.notification import Delivery, Notification
from standins.fcm import FcmStandin
from tests.helpers import make_citizen
from tests.notifications.support import application_with, completed
from tests.processes import ROOT, wait_until

INTENTS = 50
WORKERS = 3


class WorkerPool:
    """`flask notifications worker` processes against the test database and the FCM stand-in."""

    def __init__(self, env: dict, logs):
        self.env, self.logs = env, logs
        self.processes: list[subprocess.Popen] = []
        self.killed: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def spawn(self) -> None:
        log = (self.logs / f"worker-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi:app", "notifications", "worker"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        with self._lock:
            self.processes.append(process)

    def alive(self) -> list[subprocess.Popen]:
        with self._lock:
            return [p for p in self.processes if p.poll() is None]

    def kill(self, pid: int, where: str) -> bool:
        """SIGKILL one of our workers (never anything else)."""
        with self._lock:
            ours = any(p.pid == pid and p.poll() is None for p in self.processes)
        if ours:
            os.kill(pid, signal.SIGKILL)
            self.killed.append((pid, where))
        return ours

    def keep(self, count: int) -> None:
        for _ in range(count - len(self.alive())):
            self.spawn()

    def stop(self) -> None:
        for process in self.alive():
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def lease_holder(notification_id: str) -> int | None:
    """The pid of the worker holding this notification's push (lease owner "host:pid:claim")."""
    delivery = Delivery.objects(id=f"{notification_id}:push").only("lease_owner").first()
    if delivery is None or not delivery.lease_owner:
        return None
    return int(delivery.lease_owner.split(":")[1])


@pytest.mark.slow
def test_killed_workers_lose_no_notification_and_repeats_carry_the_same_id(app, tmp_path):
    citizens = [make_citizen() for _ in range(10)]
    for n, citizen in enumerate(citizens):
        Device(user=str(citizen.id), token=f"device-{n}", platform="android").save()

    with FcmStandin(latency_ms=40) as fcm:
        accepted = Counter()
        lock = threading.Lock()

        def kill_at(point: str, nth: int):
            """Kill the sender of the nth accepted message (or of the next one, should that
            sender already be gone)."""
            def hook(record):
                with lock:
                    accepted[point] += 1
                    if accepted[point] < nth or any(w == point for _, w in pool.killed):
                        return
                    pid = lease_holder(record["data"]["notification_id"])
                    if pid is not None:
                        pool.kill(pid, point)
            return hook

        # In the middle of a send: FCM has the message, the worker never hears back.
        fcm.before_response = kill_at("mid-send", 4)
        # After a send, before the record: the answer arrived; the worker dies before writing it.
        fcm.after_response = kill_at("after-send", 20)

        env = {**os.environ, "APP_ENV": "test", "LOG_LEVEL": "WARNING",
               "FCM_CREDENTIALS": fcm.write_service_account(tmp_path),
               "FCM_BASE_URL": fcm.url, "NOTIFICATION_LEASE_SECONDS": "2",
               "NOTIFICATION_POLL_SECONDS": "0.1", "NOTIFICATION_BATCH_SIZE": "5",
               "NOTIFICATION_BACKOFF_BASE": "0.2", "NOTIFICATION_BACKOFF_MAX": "1",
               "NOTIFICATION_MAX_ATTEMPTS": "30"}
        pool = WorkerPool(env, tmp_path)
        pool.keep(WORKERS)
        intents = [completed(citizens[n % len(citizens)], matter=f"matter_{n}")
                   for n in range(INTENTS)]
        for start in range(0, INTENTS, 10):  # five applications of ten intents each
            application_with(citizens[0], intents[start:start + 10])

        random_kill = {"pending": True}
        try:
            def all_delivered():
                # And once at a moment nobody chose, soon after pushes start flowing, whatever
                # that worker is doing.
                if random_kill and "at" not in random_kill and fcm.messages:
                    random_kill["at"] = time.monotonic() + random.uniform(0.0, 0.5)
                if random_kill.get("at", float("inf")) <= time.monotonic() and pool.alive():
                    pool.kill(random.choice(pool.alive()).pid, "random")
                    random_kill.clear()
                pool.keep(WORKERS)
                return Delivery.objects(channel="push", status="delivered").count() == INTENTS

            wait_until(all_delivered, timeout=60, interval=0.1)
        finally:
            pool.stop()

        ids = fcm.notification_ids()

    expected = {i["id"] for i in intents}
    received = Counter(ids)
    assert set(received) == expected  # none lost, nothing invented
    duplicates = sum(received.values()) - len(expected)
    repeated = {nid for nid, count in received.items() if count > 1}
    assert duplicates == sum(received[nid] - 1 for nid in repeated)
    # A repeat is the same notification to the same device: a client drops it by its id.
    for nid in repeated:
        tokens = {m["token"] for m in fcm.messages if m["data"]["notification_id"] == nid}
        assert len(tokens) == 1
    assert {where for _, where in pool.killed} >= {"mid-send", "after-send"}
    assert all(p.returncode == -signal.SIGKILL for p in pool.processes
               if p.pid in {pid for pid, _ in pool.killed})
    assert duplicates >= 1  # the after-send kill always leaves one to send again
    assert Notification.objects.count() == INTENTS
    assert Delivery.objects(channel="push", status__ne="delivered").count() == 0
    print(f"\n{INTENTS} notifications, {len(pool.killed)} workers killed "
          f"({', '.join(w for _, w in pool.killed)}), {duplicates} duplicate pushes, 0 lost")
