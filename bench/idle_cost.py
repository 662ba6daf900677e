"""What the stack costs the database when nobody does anything: `make serve`'s processes (the
API's gunicorn workers, the notification worker, the sweeps) each started alone on an idle
database, then all together, and the database's CPU seconds per minute meanwhile.

A fixed cost like this is paid whatever the traffic, so at the bench's few births a minute it is
a large share of each birth's database CPU. Rerun: `.venv/bin/python -m bench.idle_cost`
(`--seconds` per component, `--only worker,api`; the JSON goes to var/bench/idle-latest.json).
"""
import argparse
import sys
import time
from contextlib import ExitStack, suppress
from datetime import UTC, datetime

import psutil
import requests

import config as settings
from bench.processes import HOST, VAR, say, wait_http, write_result
from bench.stack import Stack
from common.embedded_db import free_port
from manage import beside_the_api, gunicorn_argv

SETTLE_SECONDS = 5.0  # after a start: its imports and first round are not the idle cost


def database_cpu(stack: Stack) -> float:
    times = psutil.Process(stack.database.process.pid).cpu_times()
    return times.user + times.system


def per_minute(stack: Stack, seconds: float) -> float:
    """The database's CPU seconds per minute over the next `seconds`."""
    before, begun = database_cpu(stack), time.monotonic()
    time.sleep(seconds)
    return (database_cpu(stack) - before) * 60 / (time.monotonic() - begun)


def touch_api(stack: Stack, url: str, token: str, requests_made: int = 24) -> None:
    """Authenticated requests to every worker, as after any use: a worker's background refresh
    (revoked tokens) starts with its first authenticated request."""
    for _ in range(requests_made):
        with suppress(requests.RequestException):
            requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)


def components(stack: Stack) -> dict[str, tuple[list[str], dict]]:
    """Each process `make serve` starts beside the database: (argv, environment)."""
    config = settings.load()
    found = {"api": (gunicorn_argv(f"{HOST}:{stack.api_port}"), stack.env)}
    found.update({program.name: (program.argv, {**stack.env, **program.env})
                  for program in beside_the_api(config)})
    return found


def sign_in(url: str, sms_url: str) -> str:
    """A citizen's token, signed in through the SMS stand-in as the bench's citizens are."""
    phone = f"139{int(time.time() * 1000) % 10**8:08d}"
    headers = {"X-Forwarded-For": "198.19.255.253"}
    requests.post(f"{url}/api/v1/auth/otp", json={"phone": phone}, headers=headers,
                  timeout=30).raise_for_status()
    for _ in range(200):
        answer = requests.get(f"{sms_url}/_standin/code", params={"to": phone}, timeout=5)
        if answer.status_code == 200:
            break
        time.sleep(0.05)
    tokens = requests.post(f"{url}/api/v1/auth/login", headers=headers, json={
        "phone": phone, "code": answer.json()["code"]}, timeout=30)
    tokens.raise_for_status()
    return tokens.json()["access_token"]


def measure(stack: Stack, seconds: float, only: set[str] | None) -> dict:
    stack.start_database()
    stack.start_standins()
    stack.seed()
    stack.api_port = free_port(HOST)
    argv = components(stack)
    names = [name for name in argv if not only or name in only]
    result: dict = {"seconds": seconds, "per_minute": {}}
    result["per_minute"]["nothing"] = round(per_minute(stack, seconds), 3)
    say(f"nothing running: {result['per_minute']['nothing']:.3f} database CPU-s a minute")
    url = f"http://{HOST}:{stack.api_port}"
    token = None
    for name in [*names, "all"]:
        started = [stack.service(f"idle-{n}", *argv[n]) for n in (names if name == "all"
                                                                   else [name])]
        try:
            if name in ("api", "all") and "api" in names:
                api = started[names.index("api") if name == "all" else 0]
                wait_http(f"{url}/readyz", api, timeout=120)
                token = token or sign_in(url, stack.sms_url)
                touch_api(stack, url, token)
            time.sleep(SETTLE_SECONDS)
            result["per_minute"][name] = round(per_minute(stack, seconds), 3)
            say(f"{name}: {result['per_minute'][name]:.3f} database CPU-s a minute")
        finally:
            for service in started:
                service.stop(10)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="measured per component (after a settling of 5 s)")
    parser.add_argument("--only", default="", help="comma-separated components (default: all)")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / f"idle-{stamp}"
    with ExitStack() as exit_stack:
        stack = Stack(run_dir, exit_stack)
        result = measure(stack, args.seconds, set(filter(None, args.only.split(","))) or None)
    result["load_average"] = list(psutil.getloadavg())
    path = write_result(result, run_dir, "idle-latest.json")
    for name, figure in result["per_minute"].items():
        print(f"{name:<18} {figure:7.3f} database CPU-s a minute")
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
