"""Child processes kept running: each line they write prefixed with their name, a child that dies
started again with backoff, and one orderly stop that leaves none behind."""
import collections
import contextlib
import ctypes
import os
import signal
import subprocess  # nosec B404  # runs the system's own programs
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

_PR_SET_PDEATHSIG = 1
NAME_WIDTH = 15


def die_with_parent(death_signal: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the kernel sends `death_signal` to the child when its parent dies, even by
    SIGKILL, so a launcher that is killed leaves no orphan behind (Linux; elsewhere a no-op)."""
    parent = os.getpid()

    def arrange() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, death_signal)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    return arrange


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's environment
    death_signal: int = signal.SIGTERM  # what the kernel sends it should the launcher die
    stop_last: bool = False  # the database: stopped once nothing uses it any more


@dataclass
class Child:
    program: Program
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None  # monotonic time of the next start, while it is down
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20))
    reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class Supervisor:
    """Starts programs, prefixes their output, restarts the ones that die (1 s, then doubling to
    30 s; a child that stayed up 30 s starts again from 1 s), and stops them all: SIGTERM, then
    SIGKILL for what is still there after the grace, the `stop_last` ones after the others.

    Call `start`, `run_once` and `run` from one thread, the main one: the kernel's parent-death
    signal follows the thread that started a child, not the process.
    """

    def __init__(self, env: dict[str, str] | None = None, *, out=None,
                 backoff_first: float = 1.0, backoff_max: float = 30.0,
                 stable_after: float = 30.0, grace: float = 6.0, grace_last: float = 3.0,
                 on_change: Callable[["Supervisor"], None] | None = None):
        self.env = dict(os.environ if env is None else env)
        self.out = out or sys.stdout.buffer
        self.backoff_first, self.backoff_max = backoff_first, backoff_max
        self.stable_after = stable_after
        self.grace, self.grace_last = grace, grace_last
        self.on_change = on_change
        self.children: dict[str, Child] = {}
        self.stopping = threading.Event()
        self._hurry = threading.Event()
        self._lock = threading.Lock()

    # Output ---------------------------------------------------------------------------------

    def say(self, text: str, name: str = "launcher") -> None:
        self._write(name, text.encode())

    def _write(self, name: str, line: bytes) -> None:
        prefix = f"{datetime.now():%H:%M:%S} {name:<{NAME_WIDTH}} | ".encode()
        with self._lock:
            self.out.write(prefix + line.rstrip(b"\r\n") + b"\n")
            self.out.flush()

    def _read(self, child: Child, stream) -> None:
        for line in iter(stream.readline, b""):
            child.tail.append(line.decode(errors="replace").rstrip())
            self._write(child.program.name, line)
        stream.close()

    # Starting -------------------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        program = child.program
        env = {**self.env, "PYTHONUNBUFFERED": "1", **program.env}
        child.process = subprocess.Popen(  # nosec B603  # argv from the launcher's own table, no shell
            program.argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, preexec_fn=die_with_parent(program.death_signal),
            # Its own process group: a Ctrl-C in the terminal reaches the launcher alone, which
            # then stops everything in order.
            process_group=0)
        child.started_at = time.monotonic()
        child.reader = threading.Thread(target=self._read, args=(child, child.process.stdout),
                                        name=f"output-{program.name}", daemon=True)
        child.reader.start()

    def start(self, program: Program) -> Child:
        """Start a program that is kept running until `stop`."""
        child = self.children[program.name] = Child(program, backoff=self.backoff_first)
        self._spawn(child)
        self.say(f"{program.name} started (pid {child.pid})")
        self._changed()
        return child

    def run_once(self, program: Program, timeout: float = 300.0) -> int | None:
        """Run a program to its end (its output prefixed too); None if stopped or timed out."""
        child = Child(program)
        self._spawn(child)
        deadline = time.monotonic() + timeout
        while child.process.poll() is None:
            if self.stopping.is_set() or time.monotonic() > deadline:
                self._terminate([child], self.grace)
                return None
            time.sleep(0.05)
        child.reader.join(2)
        return child.process.returncode

    def wait_until(self, ready: Callable[[], bool], child: Child, timeout: float) -> bool:
        """Wait for `ready()` while the child lives; False if it died, we stop, or time is up."""
        deadline = time.monotonic() + timeout
        while not self.stopping.is_set() and child.running and time.monotonic() < deadline:
            if ready():
                return True
            time.sleep(0.1)
        return False

    # Keeping them running -------------------------------------------------------------------

    def check(self) -> None:
        """Notice the children that died and start the ones whose backoff is over."""
        now = time.monotonic()
        for child in list(self.children.values()):
            if self.stopping.is_set():
                return
            name = child.program.name
            if child.restart_at is None and not child.running and child.process is not None:
                uptime = now - child.started_at
                if uptime >= self.stable_after:
                    child.backoff = self.backoff_first
                delay, child.backoff = child.backoff, min(child.backoff * 2, self.backoff_max)
                child.restarts += 1
                child.restart_at = now + delay
                self.say(f"{name} (pid {child.pid}) {_describe(child.process.returncode)} "
                         f"after {uptime:.1f} s; restarting in {delay:g} s "
                         f"(restart {child.restarts})")
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                self._spawn(child)
                self.say(f"{name} restarted (pid {child.pid})")
                self._changed()

    def run(self, poll: float = 0.1) -> None:
        """Keep the children running until `request_stop`."""
        while not self.stopping.is_set():
            self.check()
            self.stopping.wait(poll)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    # Stopping -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """From a signal handler: the first asks for an orderly stop, a second for haste."""
        if self.stopping.is_set():
            self._hurry.set()
        self.stopping.set()

    def stop(self) -> float:
        """Stop every child (SIGTERM, SIGKILL after the grace), the `stop_last` ones after the
        others; returns the seconds it took."""
        self.stopping.set()
        started = time.monotonic()
        children = list(self.children.values())
        self._terminate([c for c in children if not c.program.stop_last], self.grace)
        self._terminate([c for c in children if c.program.stop_last], self.grace_last)
        return time.monotonic() - started

    def _terminate(self, children: list[Child], grace: float) -> None:
        for child in children:
            child.restart_at = None
            if child.running:
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
        deadline = time.monotonic() + grace
        for child in children:
            while child.running and time.monotonic() < deadline and not self._hurry.is_set():
                time.sleep(0.02)
            if child.running:
                self.say(f"{child.program.name} (pid {child.pid}) did not stop in time: killed")
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
            if child.process is not None:
                child.process.wait()
            if child.reader is not None:
                child.reader.join(1)
