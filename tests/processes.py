"""Helpers for tests that run the real launcher or server as separate processes."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class Launcher:
    """`python manage.py run` in a child process, reading its banner for the ports it chose."""

    def __init__(self, port: int, env: dict, command: str = "run"):
        self.port = port
        self.run_file = Path(env["EMBEDDED_DB_PATH"]).resolve().parent / "run.json"
        self.log = Path(env["EMBEDDED_DB_PATH"]).parent / f"launcher-{port}-{time.time_ns()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, "APP_ENV": "development", "PORT": str(port), **env}
        if "MONGODB_URI" not in env:
            full_env.pop("MONGODB_URI", None)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", command], cwd=ROOT, env=full_env,
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 60.0) -> None:
        def healthy():
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited:\n{self.output()}")
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_until(healthy, timeout)

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        def said():
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited:\n{self.output()}")
            return text in self.output()
        wait_until(said, timeout, interval=0.1)

    def state(self) -> dict:
        """var/run.json as the launcher keeps it: the database's URI and every child's pid."""
        return json.loads(self.run_file.read_text())

    def pids(self) -> dict[str, int]:
        return self.state()["processes"]

    def database_port(self) -> int | None:
        match = re.search(r"embedded at mongodb://127\.0\.0\.1:(\d+)", self.output())
        return int(match.group(1)) if match else None

    def stop(self, signal_number: int | None = None) -> int:
        if self.process.poll() is None:
            if signal_number is None:
                self.process.terminate()
            else:
                self.process.send_signal(signal_number)
        return self.process.wait(30)
