"""The bench's child processes: each in its own process group, logged to a file, stopped as a
group and dying with the bench even if it is killed outright; one-shot commands; timed phases."""
import argparse
import ctypes
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import requests

from common.embedded_db import EmbeddedDatabase

ROOT = Path(__file__).resolve().parent.parent

PYTHON = sys.executable

HOST = "127.0.0.1"



def die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM if the bench dies, even by SIGKILL,
    so nothing it started outlives it."""
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG



def command_line(module_doc: str, prog: str) -> argparse.ArgumentParser:
    """An entry point's arguments; its --help prints the module's docstring (the summary, then
    the rest as written) instead of running it."""
    summary, _, rest = module_doc.strip().partition("\n\n")
    return argparse.ArgumentParser(prog=prog, description=summary, epilog=rest or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def server_ns(pid: int) -> int:
    """A process's run time so far in nanoseconds, all its threads (Linux's schedstat: finer
    than psutil's CPU times, which tick in hundredths of a second)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile
    return total


def say(text: str) -> None:
    print(f"[bench] {text}", flush=True)



class Service:
    """A child process in its own process group (stopped as a group), output to a log file; it
    dies with us even if we are killed outright."""

    def __init__(self, name: str, argv: list[str], env: dict, logs: Path, cwd: Path = ROOT):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.stopped = False
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=die_with_parent)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, size: int = 3000) -> str:
        with suppress(OSError):
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        return ""

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the whole group (graceful), SIGKILL to whatever is left after `timeout`."""
        if self.stopped:
            return
        self.stopped = True
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        if self.wait(timeout) is None:
            say(f"{self.name} still busy {timeout:.0f}s after SIGTERM: killed")
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers of the group, if any
        self.process.wait()
        self._log.close()



class Phases:
    def __init__(self):
        self.took: dict[str, float] = {}
        self.started = time.monotonic()

    def run(self, name: str, action, *args, **kwargs):
        begun = time.monotonic()
        say(f"{name} …")
        try:
            return action(*args, **kwargs)
        finally:
            self.took[name] = round(time.monotonic() - begun, 1)
            say(f"{name} took {self.took[name]:.1f}s")

    @property
    def total(self) -> float:
        return round(time.monotonic() - self.started, 1)



def wait_http(url: str, service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.running():
            raise RuntimeError(f"{service.name} exited at start:\n{service.tail()}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer {url} within {timeout:.0f}s")



def run_command(argv: list[str], env: dict, logs: Path, name: str, timeout: float = 120) -> str:
    """A one-shot command (flask CLI), in its own group, killed if it overruns."""
    service = Service(name, argv, env, logs)
    try:
        code = service.wait(timeout)
        output = service.tail(20_000)
    finally:
        service.stop(5)
    if code is None:
        raise RuntimeError(f"{name} did not finish within {timeout:.0f}s")
    if code != 0:
        raise RuntimeError(f"{name} failed ({code}):\n{output[-3000:]}")
    return output


VAR = ROOT / "var" / "bench"

# The settings a bench running the app in its own process reads the database from.
DATABASE_SETTINGS = ("MONGODB_URI", "MONGODB_DB", "MONGODB_TIMEOUT_MS")


@contextmanager
def database_of_its_own(name: str, timeout_ms: int = 120_000) -> Iterator[str]:
    """The database of a bench that runs the app in-process: MONGODB_URI when it is set, else a
    fresh in-memory embedded server, stopped after the block; its name `name` unless MONGODB_DB
    says otherwise. A generous timeout: a scan of a big history keeps the embedded server busy
    for seconds. The settings are as they were after the block."""
    before = {key: os.environ.get(key) for key in DATABASE_SETTINGS}
    server = None
    if not os.environ.get("MONGODB_URI"):
        server = EmbeddedDatabase(":memory:")
        server.start()
        os.environ["MONGODB_URI"] = server.uri
    os.environ.setdefault("MONGODB_DB", name)
    os.environ.setdefault("MONGODB_TIMEOUT_MS", str(timeout_ms))
    try:
        yield os.environ["MONGODB_URI"]
    finally:
        if server is not None:
            server.stop()
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def write_result(result: dict, run_dir: Path, latest: str) -> Path:
    """A run's figures as JSON, in its own folder and as var/bench/<latest> (the last run of
    its kind); the path of the latter."""
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").write_text(text)
    (VAR / latest).write_text(text)
    return VAR / latest


def checkout(revision: str, folder: Path) -> Path:
    """The tree of `revision` (committed files only), extracted into `folder`."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT,  # nosec
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder
