"""`make demo`: a baby is born; one form, four materials, seven matters, told as they finish.

Runs a scripted newborn case end to end through the HTTP API of a server at DEMO_URL (default
http://127.0.0.1:5000): the parent signs in with a texted code (the development server answers
it as `debug_code`), verifies their real name, uploads the four materials and applies for the
newborn "one thing". Then it prints the application's timeline live while the departments work,
and, when the demo started the server itself, the pushes the parent's phone receives: a
notification worker delivers them to the FCM stand-in (standins.fcm), which plays the phone.

The departments are played by `flask departments simulate`, which the demo starts itself at
DEMO_SPEED (default 60: a minute of handling takes a second):
- if nothing answers at DEMO_URL, the demo starts a development server of its own there, on a
  fresh embedded database under var/demo/, and stops both at the end;
- if `make run` is serving there, the demo finds its database in var/run.json (and leaves the
  queues to `make run`'s own simulator when it runs one: `SIMULATE_DEPARTMENTS=1 make run`);
- for any other server, set MONGODB_URI to its database, or leave the queues to officers.
"""
import argparse
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import requests
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from common import run_state  # noqa: E402
from services.identity.numbers import make_id_number  # noqa: E402 (pure: the GB 11643 check digit)
from standins.fcm import FcmStandin  # noqa: E402

MATERIALS = {
    "parent_id_card": "Resident identity card",
    "household_register": "Household register",
    "marriage_certificate": "Marriage certificate",
    "birth_registration_form": "Birth registration form",
}
FINISHED = {"completed", "rejected", "withdrawn"}
ADDRESS = "浙江省瑞安市万松路 1 号"


class Demo:
    def __init__(self, url: str, lang: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = lang

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 202), **kwargs):
        response = self.http.request(method, self.url + path, timeout=15, **kwargs)
        if response.status_code not in expect:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text[:500]
            raise SystemExit(f"{method} {path} answered {response.status_code}: {detail}")
        return response.json() if response.content else None


# ── Servers ────────────────────────────────────────────────────────────────────────────────────

def answering(url: str) -> bool:
    try:
        return requests.get(url.rstrip("/") + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def same_server(first: str, second: str) -> bool:
    a, b = urlparse(first), urlparse(second)
    local = ("127.0.0.1", "localhost")
    return (a.port or 80) == (b.port or 80) and (
        a.hostname == b.hostname or (a.hostname in local and b.hostname in local))


def launcher_at(url: str) -> dict | None:
    """What `make run` says of itself in var/run.json, if it is the server at this URL."""
    path = os.environ.get("EMBEDDED_DB_PATH") or config.Config.EMBEDDED_DB_PATH
    state = run_state.running(path)
    return state if state and same_server(state.get("api") or "", url) else None


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """A development server of our own at the URL, on a fresh database; returns its DB URI."""
    where = urlparse(url)
    if where.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"Nothing answers at {url}, and the demo starts servers only locally.")
    log = workdir / "server.log"
    env = {**os.environ, "APP_ENV": "development", "PORT": str(where.port or 80),
           "EMBEDDED_DB_PATH": str(workdir / "db")}
    env.pop("MONGODB_URI", None)
    print(f"Nothing answers at {url}: starting a development server (log: {log})", flush=True)
    server = subprocess.Popen([sys.executable, "manage.py", "run"], cwd=ROOT, env=env,
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not answering(url):
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise SystemExit(f"The server did not start; see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)
    found = re.search(r"embedded at (mongodb://\S+)", log.read_text())
    if not found:
        stop(server)
        raise SystemExit(f"The server did not say where its database is; see {log}")
    return server, found.group(1)


def start_simulator(database_uri: str, speed: float, workdir: Path) -> subprocess.Popen:
    log = workdir / "simulator.log"
    env = {**os.environ, "APP_ENV": os.environ.get("APP_ENV", "development"),
           "MONGODB_URI": database_uri}
    print(f"Departments simulated at {speed:g}x (log: {log})", flush=True)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "departments", "simulate",
         "--speed", str(speed), "--poll", "0.3"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def start_worker(database_uri: str, fcm: FcmStandin, workdir: Path) -> subprocess.Popen:
    """The notification worker, pushing to the FCM stand-in that plays the parent's phone."""
    log = workdir / "worker.log"
    env = {**os.environ, "APP_ENV": os.environ.get("APP_ENV", "development"),
           "MONGODB_URI": database_uri, "FCM_CREDENTIALS": fcm.write_service_account(workdir),
           "FCM_BASE_URL": fcm.url}
    print(f"Pushes go to an FCM stand-in at {fcm.url} (worker log: {log})", flush=True)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


class Handset:
    """The parent's phone as FCM sees it: a device token, and the pushes the stand-in took."""

    def __init__(self, fcm: FcmStandin):
        self.fcm, self.token, self.shown = fcm, f"demo-phone-{uuid.uuid4().hex[:12]}", 0

    def new_pushes(self) -> list[dict]:
        received = self.fcm.received_for(self.token)
        new, self.shown = received[self.shown:], len(received)
        return new


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ── The case ───────────────────────────────────────────────────────────────────────────────────

def document(title: str, shade: int) -> bytes:
    """A plain picture standing in for a photographed document."""
    image = Image.new("RGB", (640, 420), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 400), outline=(shade, 60, 60), width=6)
    draw.text((50, 60), title, fill=(20, 20, 20))
    draw.text((50, 120), f"demo {uuid.uuid4().hex[:12]}", fill=(90, 90, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def answers(fields: list[dict], father_id: str, mother_id: str, phone: str) -> dict:
    """The joint form as a father at Ruian People's Hospital fills it."""
    born = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=1)
    known = {
        "newborn_name": "周小雨", "newborn_gender": "female",
        "newborn_birth_date": born.isoformat(),
        "newborn_birth_time": "08:30", "birth_hospital": "瑞安市人民医院（万松院区）",
        "birth_weight_grams": 3300, "newborn_ethnicity": "汉族", "relation_to_newborn": "father",
        "applicant_name": "周磊", "applicant_id_number": father_id, "spouse_name": "陈静",
        "spouse_id_number": mother_id, "contact_phone": phone,
        "residence_address": ADDRESS, "household_address": ADDRESS, "mailing_address": ADDRESS,
        "premium_payment_method": "bank_deduction",
        "bank_account": "6222021203000000001", "bank_name": "中国工商银行",
        "delivery_type": "vaginal",
    }
    form = {}
    for field in fields:
        name = field["name"]
        if name in known:
            form[name] = known[name]
        elif field.get("required"):
            kind = field.get("type")
            form[name] = (field["choices"][0] if field.get("choices") else
                          1 if kind in ("integer", "number") else
                          date.today().isoformat() if kind == "date" else "—")
    return form


def local_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone().strftime("%H:%M:%S")


def show_pushes(handset: Handset | None) -> None:
    for push in handset.new_pushes() if handset else []:
        moment = datetime.fromtimestamp(push["at"]).strftime("%H:%M:%S")
        text = push["notification"]
        print(f"  {moment}  [push] {text.get('title')}: {text.get('body')}", flush=True)


def run_case(demo: Demo, *, timeout: float, simulated: bool, speed: float = 60.0,
             handset: Handset | None = None) -> int:
    rng = random.Random()
    phone = f"139{rng.randrange(10**8):08d}"
    father_id = make_id_number("330381", date(1991, 4, 2), rng.randrange(500), "male")
    mother_id = make_id_number("330381", date(1993, 8, 9), rng.randrange(500), "female")

    print(f"\n1. The father signs in with his phone ({phone[:3]}****{phone[-4:]})")
    sent = demo.call("POST", "/api/v1/auth/otp", json={"phone": phone})
    if not sent.get("debug_code"):
        raise SystemExit("The server does not reveal codes (OTP_DEBUG_CODE): run it in "
                         "development to demo.")
    tokens = demo.call("POST", "/api/v1/auth/login",
                       json={"phone": phone, "code": sent["debug_code"]})
    demo.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    demo.call("POST", "/api/v1/me/real-name", json={"name": "周磊", "id_number": father_id})
    if handset is not None:
        demo.call("POST", "/api/v1/me/devices", json={
            "token": handset.token, "platform": "android",
            "locale": demo.http.headers["Accept-Language"]})

    bundle = demo.call("GET", "/api/v1/bundles/newborn")
    before, after = bundle.get("figures", {}).get("before", {}), bundle.get("figures", {}).get(
        "after", {})
    print(f"2. \"{bundle.get('name')}\": {len(bundle['steps'])} matters of "
          f"{len(bundle.get('departments', []))} departments; before the reform "
          f"{before.get('forms', '?')} forms and {before.get('materials', '?')} materials, now "
          f"{after.get('forms', 1)} form and {after.get('materials', len(MATERIALS))} materials")

    print("3. He uploads the four materials once")
    material_ids = []
    for n, (code, title) in enumerate(MATERIALS.items()):
        kept = demo.call("POST", "/api/v1/materials", data={"type": code},
                         files={"file": (f"{code}.jpg", document(title, 40 * n), "image/jpeg")})
        material_ids.append(kept["id"])
        print(f"   - {title}")

    form = answers(bundle["form"], father_id, mother_id, phone)
    application = demo.call(
        "POST", "/api/v1/applications",
        headers={"Idempotency-Key": uuid.uuid4().hex},
        # No `subject`: the newborn bundle's natural one, the baby.
        json={"bundle": "newborn", "form": form, "materials": material_ids})
    started = time.monotonic()
    print(f"4. One joint form sent: application {application['id']}")
    if application.get("eta"):
        print(f"   expected to finish by {local_time(application['eta'])}")
    print("\nTimeline:")

    seen: set[str] = set()
    eta = application.get("eta")
    last_progress = time.monotonic()
    hinted = False
    done_before = 0
    while True:
        for event in demo.call("GET", f"/api/v1/applications/{application['id']}/timeline"):
            if event["id"] in seen:
                continue
            seen.add(event["id"])
            last_progress = time.monotonic()
            who = event.get("actor") or ""
            print(f"  {local_time(event['at'])}  {event['text']}" + (f"  ({who})" if who else ""),
                  flush=True)
        show_pushes(handset)
        current = demo.call("GET", f"/api/v1/applications/{application['id']}")
        done = sum(t["status"] == "completed" for t in current["tasks"])
        if done != done_before:
            done_before = done
            office = (f" (about {(time.monotonic() - started) * speed / 60:.0f} minutes of "
                      f"office time at {speed:g}x)" if simulated else "")
            print(f"            ── {done}/{len(current['tasks'])} matters done{office} ──",
                  flush=True)
        if current["status"] in FINISHED:
            break
        if current.get("eta") and current["eta"] != eta:
            eta = current["eta"]
            print(f"            (now expected to finish by {local_time(eta)})", flush=True)
        if time.monotonic() - started > timeout:
            print(f"\nStill {current['status']} after {timeout:g} seconds; stopping the demo.")
            return 1
        if not simulated and not hinted and time.monotonic() - last_progress > 20:
            hinted = True
            print("  (nothing is moving: no simulator works the queues. Start one against the "
                  "server's database: MONGODB_URI=<its database> .venv/bin/flask departments "
                  "simulate --speed 60, or run SIMULATE_DEPARTMENTS=1 make run)", flush=True)
        time.sleep(0.5)

    elapsed = time.monotonic() - started
    if handset is not None:  # the last department's push follows its completion by a moment
        time.sleep(2)
        show_pushes(handset)
    print(f"\nThe application is {current['status']} after {elapsed:.0f} seconds of demo time.")
    if handset is not None:
        print(f"His phone received {handset.shown} pushes.")
    for task in current.get("tasks", []):
        outputs = ", ".join(f"{k}: {v}" for k, v in (task.get("outputs") or {}).items())
        name = task.get("name") or task.get("matter")
        print(f"  - {name} ({task.get('department_name') or task.get('department')}): "
              f"{task['status']}" + (f", {outputs}" if outputs else ""))
    vault = demo.call("GET", "/api/v1/me/materials")
    licences = [m for m in vault if m.get("kind") == "elicence"]
    print(f"His vault now holds {len(licences)} e-licences issued by the departments, "
          "ready for the next application.")
    return 0 if current["status"] == "completed" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DEMO_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--speed", type=float, default=float(os.environ.get("DEMO_SPEED", 60)),
                        help="how much faster than real officers the departments work")
    parser.add_argument("--lang", default=os.environ.get("DEMO_LANG", "en"),
                        help="en or zh-CN")
    parser.add_argument("--timeout", type=float,
                        default=float(os.environ.get("DEMO_TIMEOUT", 300)))
    parser.add_argument("--no-simulator", action="store_true",
                        help="do not start the simulator: officers or another one work")
    args = parser.parse_args(argv)

    workdir = ROOT / "var" / "demo" / datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    server = simulator = worker = fcm = handset = None
    database_uri = os.environ.get("MONGODB_URI") or None
    simulated_by_launcher = False
    speed = args.speed
    try:
        if not answering(args.url):
            server, database_uri = start_server(args.url, workdir)
            fcm = FcmStandin().start()
            handset = Handset(fcm)
            worker = start_worker(database_uri, fcm, workdir)
        elif not database_uri and (launcher := launcher_at(args.url)) is not None:
            database_uri = launcher["mongodb_uri"]
            simulated_by_launcher = "simulator" in (launcher.get("processes") or {})
            print(f"`make run` (pid {launcher['pid']}) serves {args.url}; its database: "
                  f"{database_uri}" + ("; its simulator works the queues"
                                       if simulated_by_launcher else ""), flush=True)
            if simulated_by_launcher:
                speed = float(os.environ.get("SIMULATE_SPEED") or config.Config.SIMULATE_SPEED)
        if database_uri and not args.no_simulator and not simulated_by_launcher:
            simulator = start_simulator(database_uri, args.speed, workdir)
        elif not args.no_simulator and not simulated_by_launcher:
            print("A server is running whose database the demo does not know (set MONGODB_URI): "
                  "the departments' queues are left to a simulator or officers already at work.")
        return run_case(Demo(args.url, args.lang), timeout=args.timeout, speed=speed,
                        simulated=simulator is not None or simulated_by_launcher,
                        handset=handset)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(simulator)
        stop(worker)
        stop(server)
        if fcm is not None:
            fcm.stop()
        if server is not None:  # its database was only for this run; the logs stay
            shutil.rmtree(workdir / "db", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
