"""The embedded MongoDB-compatible server (SecantusDB) as a child process that never outlives us."""
import atexit
import logging
import signal
import socket
import subprocess  # nosec B404  # starts our own database server, fixed argv
import sys
import tempfile
import time
from pathlib import Path

import pymongo

from common.supervisor import die_with_parent

log = logging.getLogger(__name__)

# If the parent dies, even by SIGKILL, the kernel kills the server too, so a crashed app leaves no
# orphan database behind. SIGKILL, not SIGTERM: the server's SIGTERM handler can lose a race with
# a connection being opened and stay up, and there is only one parent-death signal. Its storage
# recovers like after a power cut; a normal stop (below) still shuts it down cleanly.
DEATH_SIGNAL = signal.SIGKILL
# The oplog's length. Only the notification worker reads it, a change stream from "now" that
# wakes it within a second (it polls while the stream is away), so minutes of writes are
# plenty; the server's default keeps 100,000 entries, and past that every write takes its
# share of pruning the oldest, read and decoded whole from disk: after 100,000 applications
# were stored (≈ 16 KB each in the oplog) that was 12 % of a claim's update's samples (py-spy,
# 1 GB cache; `python -m bench.claim_growth`).
OPLOG_ENTRIES = 10_000
# What the server says when another process holds its folder.
IN_USE = "already being managed by another process"


class DatabaseInUse(RuntimeError):
    """Another process holds the embedded database's folder."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedDatabase:
    """One SecantusDB server: `storage_path` on disk, or ":memory:" for a throwaway one.

    `cache_size` ("512M", "2G"; settings' EMBEDDED_DB_CACHE_SIZE) bounds the memory it keeps of
    the data; None leaves the server's own default (1 GB). What does not fit is read from disk
    again each time it is used (docs/scaling.md, "The server's cache and its oplog")."""

    def __init__(self, storage_path: str | Path, host: str = "127.0.0.1", port: int | None = None,
                 cache_size: str | None = None):
        self.storage_path = str(storage_path)
        self.host = host
        self.port = port or free_port(host)
        self.cache_size = cache_size.strip().upper() if cache_size else None
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def command(self) -> list[str]:
        """The server's command line (a launcher may run it under its own supervision)."""
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "secantus", "--host", self.host, "--port", str(self.port),
            "--storage-path", self.storage_path, "--log-level", "WARNING",
            "--oplog-max-entries", str(OPLOG_ENTRIES),
        ]
        if self.cache_size:
            command += ["--cache-size", self.cache_size]
        if self.storage_path != ":memory:":
            # Fsync the log at every commit: a write answered before a crash is on disk after
            # it (without it, acknowledged applications were lost when the server was killed).
            command.append("--sync-on-commit")
        return command

    def answers(self, timeout_ms: int = 250) -> bool:
        """Whether the server answers a ping now."""
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=timeout_ms,
                                     connect=False)
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and wait until it answers a ping; return its URI."""
        command = self.command()
        # A file, not a pipe: a pipe nobody reads would block a chatty server.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(  # nosec B603  # argv is ours: this interpreter, secantusd, a path
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr, preexec_fn=die_with_parent(DEATH_SIGNAL),
        )
        atexit.register(self.stop)
        self._wait_until_ready(timeout)
        log.info("embedded database listening on %s:%s (data: %s)",
                 self.host, self.port, self.storage_path)
        return self.uri

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=250, connect=False)
        try:
            while True:
                if self.process.poll() is not None:
                    self._stderr.seek(0)
                    err = self._stderr.read().decode(errors="replace")[-2000:]
                    if IN_USE in err:
                        raise DatabaseInUse(f"another process holds {self.storage_path}")
                    raise RuntimeError(f"embedded database exited at start: {err}")
                try:
                    client.admin.command("ping")
                    return
                except pymongo.errors.PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("embedded database did not answer in time") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server cleanly (SIGTERM lets WiredTiger checkpoint), kill it if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "EmbeddedDatabase":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so atexit handlers (stopping the database) run."""
    def _exit(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, _exit)
