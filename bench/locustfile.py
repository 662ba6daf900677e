"""The load `make bench` puts on the stack, over HTTP only, as the phone app and workbench would.

User classes (chosen on locust's command line by `bench.run`):
- `Citizen`: a family after a birth: signs in by SMS code (read from the SMS gateway stand-in),
  verifies the parent's real name (required before applying), registers the phone for push,
  reads the newborn bundle and its checklist, uploads the four
  materials (real JPEG and PDF bytes), applies with an Idempotency-Key, reads the application and
  the inbox. Each iteration is a new family, until BENCH_CITIZEN_SECONDS or BENCH_MAX_BIRTHS.
- `HealthOfficer` … `HrssOfficer`: one officer per department works its queue: list, open, claim,
  complete with the outputs the matter defines; dependents reach the next department's queue.
  When the citizens have stopped and every queue is empty, the run ends by itself.
- `PreparedCitizen`: before the apply-only load, signs citizens in and uploads their materials
  (BENCH_POOL_SIZE of them), handed to `Applicant` in BENCH_POOL: what is measured is applying.
- `Applicant`: the overhead ratio's load on our API: each prepared citizen applies
  BENCH_APPLY_PER_CITIZEN times (under production's limit of 20 an hour), then the next one.
- `BaselineApplicant`: the same applications against the bare baseline app (`POST /apply`).

Every answer's X-DB-Commands, latency and outcome is recorded per route (ids become `{id}`) and
written as JSON to BENCH_OUT when locust quits.
"""
import itertools
import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict

import gevent
from locust import FastHttpUser, between, constant, events, task
from locust.exception import StopUser

from bench.scenario_data import (
    DEPARTMENTS,
    MATERIALS,
    identity,
    material_file,
    multipart,
    newborn_form,
    outputs_for,
)

SMS_URL = os.environ.get("BENCH_SMS_URL", "")
OUT = os.environ.get("BENCH_OUT", "")
CITIZEN_SECONDS = float(os.environ.get("BENCH_CITIZEN_SECONDS") or 0)
MAX_BIRTHS = int(os.environ.get("BENCH_MAX_BIRTHS") or 100_000)
OFFICER_PREFIX = os.environ.get("BENCH_OFFICER_PREFIX", "bench.officer.")
OFFICER_PASSWORD = os.environ.get("BENCH_OFFICER_PASSWORD", "")
PHONE_PREFIX = os.environ.get("BENCH_PHONE_PREFIX", "137")  # one per phase: phones never repeat
# Seconds a citizen spends on a screen before the next request (reading, choosing a photo).
THINK = tuple(float(x) for x in (os.environ.get("BENCH_THINK") or "0.5,1.5").split(","))
OFFICER_POLL_SECONDS = 1.0  # an idle workbench refreshes its queue every second
# The apply-only loads stop each user after this many applications, whatever the time left.
MAX_ITERATIONS = int(os.environ.get("BENCH_MAX_ITERATIONS") or 2000)
# A citizen of the apply-only load applies this many times, then the next one does: production's
# limit (20 an hour) refuses more, and one citizen applying hundreds of times would make every
# application pay for a family of hundreds of newborns and a window of hundreds of hits.
APPLY_PER_CITIZEN = int(os.environ.get("BENCH_APPLY_PER_CITIZEN") or 10)
POOL = os.environ.get("BENCH_POOL", "")  # the prepared citizens (JSON), for `Applicant`
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE") or 0)  # how many `PreparedCitizen` makes

# ── What is recorded ──────────────────────────────────────────────────────────────────────────

started = time.time()
recorded: dict[str, dict] = defaultdict(lambda: {"times_ms": [], "db_commands": [], "errors": 0,
                                                 "statuses": defaultdict(int), "first": None,
                                                 "last": None})
state = {"births_started": 0, "births_applied": 0, "in_flight": 0, "idle_since": {},
         "quit": False, "signed_in_while_applying": 0}
prepared: list[dict] = []  # PreparedCitizen's citizens, written with the results


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None,
            **kwargs):
    entry = recorded[name]
    status = getattr(response, "status_code", 0) or 0
    entry["statuses"][str(status)] += 1
    if exception is not None:
        entry["errors"] += 1
        return
    now = time.time()
    entry["first"] = entry["first"] or now
    entry["last"] = now
    entry["times_ms"].append(response_time)
    header = (response.headers or {}).get("X-DB-Commands") if response is not None else None
    if header is not None and str(header).isdigit():
        entry["db_commands"].append(int(header))


@events.quitting.add_listener
def _write(environment, **kwargs):
    if not OUT:
        return
    errors = [{"name": e.name, "method": e.method, "error": str(e.error)[:300],
               "occurrences": e.occurrences} for e in environment.stats.errors.values()]
    payload = {"started": started, "ended": time.time(), "endpoints": recorded,
               "errors": errors, "state": {k: v for k, v in state.items() if k != "idle_since"},
               "prepared": prepared}
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)


# ── Realistic data ────────────────────────────────────────────────────────────────────────────

_phones = itertools.count(random.randrange(10_000_000))


def next_phone() -> str:
    return f"{PHONE_PREFIX}{next(_phones) % 100_000_000:08d}"


def sms_code(phone: str, timeout: float = 10.0) -> str | None:
    """The code the gateway stand-in received for this phone (the test handset's inbox)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{SMS_URL}/_standin/code?to={phone}",  # noqa: S310
                                        timeout=2) as answer:
                return json.load(answer)["code"]
        except urllib.error.HTTPError:
            gevent.sleep(0.05)
        except OSError:
            gevent.sleep(0.2)
    return None


# ── Citizens ──────────────────────────────────────────────────────────────────────────────────

class SignedIn(FastHttpUser):
    abstract = True

    def sign_in(self) -> bool:
        self.phone = next_phone()
        self.rng = random.Random(self.phone)
        # Citizens reach production through the load balancer from their own addresses; the
        # stack trusts one proxy (TRUSTED_PROXY_COUNT=1), so the OTP limits per client address
        # apply per citizen as they would there. 198.18.0.0/15 is the benchmarking range
        # (RFC 2544): nothing is ever sent to these addresses, they are only a header's value.
        number = int(self.phone[-8:])
        self.headers = {"Accept-Language": "zh-CN",
                        "X-Forwarded-For": f"198.{18 + number % 2}.{number // 256 % 256}."
                                           f"{number % 256}"}
        with self.client.post("/api/v1/auth/otp", json={"phone": self.phone},
                              name="POST /api/v1/auth/otp", headers=self.headers,
                              catch_response=True) as answer:
            if answer.status_code != 202:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return False
        code = sms_code(self.phone)
        if code is None:
            return False
        with self.client.post("/api/v1/auth/login", json={"phone": self.phone, "code": code},
                              name="POST /api/v1/auth/login", headers=self.headers,
                              catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return False
            self.headers["Authorization"] = "Bearer " + answer.json()["access_token"]
        # Applying needs a verified real name; each phone's identity is its own (taken ID
        # numbers are refused).
        self.identity = identity(self.phone)
        with self.client.post("/api/v1/me/real-name", name="POST /api/v1/me/real-name",
                              headers=self.headers, catch_response=True, json={
                                  "name": self.identity["applicant_name"],
                                  "id_number": self.identity["applicant_id_number"]}) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return False
        return True

    def upload_materials(self) -> list[str] | None:
        ids = []
        for position, (type_code, filename, content_type) in enumerate(MATERIALS):
            content = material_file(position, content_type, self.rng)
            body, content_type_header = multipart({"type": type_code}, "file", filename, content,
                                                  content_type)
            with self.client.post("/api/v1/materials", data=body, name="POST /api/v1/materials",
                                  headers={**self.headers, "Content-Type": content_type_header},
                                  catch_response=True) as answer:
                if answer.status_code not in (200, 201):
                    answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    return None
                ids.append(answer.json()["id"])
        return ids

    def apply(self, materials: list[str]) -> str | None:
        # Production has no default region: the family says where it applies (Ruian, where the
        # officers of the run work).
        body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                "form": {**newborn_form(self.rng), **self.identity}, "materials": materials,
                "region": "330381"}
        with self.client.post("/api/v1/applications", json=body,
                              name="POST /api/v1/applications",
                              headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
                              catch_response=True) as answer:
            if answer.status_code != 201:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:300]}")
                return None
            return answer.json()["id"]


ASSISTANT_TURNS = ("我家宝宝昨天出生了，要办哪些手续？", "需要准备什么材料？")


class Citizen(SignedIn):
    wait_time = between(0.5, 1.5)

    def citizens_done(self) -> bool:
        late = CITIZEN_SECONDS and time.time() - started > CITIZEN_SECONDS
        return bool(late) or state["births_started"] >= MAX_BIRTHS

    @task
    def birth(self):
        if self.citizens_done():
            gevent.sleep(1)
            return
        state["births_started"] += 1
        state["in_flight"] += 1
        try:
            self._journey()
        finally:
            state["in_flight"] -= 1

    def ask_the_assistant(self) -> None:
        """The app opens on the assistant: the parents say what happened and ask what to bring."""
        conversation = None
        for text in ASSISTANT_TURNS:
            body = {"text": text, **({"conversation_id": conversation} if conversation else {})}
            answer = self.client.post("/api/v1/assistant/messages", json=body,
                                      name="POST /api/v1/assistant/messages",
                                      headers=self.headers)
            if answer.status_code != 200:
                return
            conversation = answer.json().get("conversation_id")
            self.think()

    def think(self) -> None:
        gevent.sleep(self.rng.uniform(*THINK))

    def _journey(self) -> None:
        if not self.sign_in():
            return
        self.client.post("/api/v1/me/devices", name="POST /api/v1/me/devices",
                         headers=self.headers, json={"token": f"bench-{uuid.uuid4().hex}",
                                                     "platform": "android", "locale": "zh-CN"})
        self.think()
        self.ask_the_assistant()
        self.client.get("/api/v1/bundles/newborn", name="GET /api/v1/bundles/{code}",
                        headers=self.headers)
        self.think()
        self.client.get("/api/v1/bundles/newborn/checklist",
                        name="GET /api/v1/bundles/{code}/checklist", headers=self.headers)
        self.think()
        materials = self.upload_materials()
        if materials is None:
            return
        self.think()
        application = self.apply(materials)
        if application is None:
            return
        state["births_applied"] += 1
        self.think()
        self.client.get(f"/api/v1/applications/{application}",
                        name="GET /api/v1/applications/{id}", headers=self.headers)
        self.think()
        self.client.get("/api/v1/me/notifications", name="GET /api/v1/me/notifications",
                        headers=self.headers)


# ── Officers ──────────────────────────────────────────────────────────────────────────────────

class Officer(FastHttpUser):
    abstract = True
    department = ""
    fixed_count = 1
    wait_time = constant(0)

    def on_start(self):
        self.rng = random.Random()
        self.headers = {"Accept-Language": "zh-CN"}
        self._signed_in(self.client.post(
            "/api/v1/auth/staff-login", name="POST /api/v1/auth/staff-login",
            json={"username": OFFICER_PREFIX + self.department, "password": OFFICER_PASSWORD}))
        bundle = self.client.get("/api/v1/bundles/newborn", name="GET /api/v1/bundles/{code}",
                                 headers=self.headers).json()
        self.steps = {step["matter"]: step for step in bundle["steps"]}

    def _signed_in(self, answer) -> None:
        tokens = answer.json()
        self.headers["Authorization"] = "Bearer " + tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        # As the workbench keeps a shift signed in: new tokens a minute before these expire
        # (a run longer than the access token's 15 minutes otherwise ends in 401s).
        self.renew_at = time.time() + tokens["expires_in"] - 60

    @task
    def work_the_queue(self):
        if state["quit"]:
            gevent.sleep(1)
            return
        if time.time() >= self.renew_at:
            self._signed_in(self.client.post(
                "/api/v1/auth/refresh", name="POST /api/v1/auth/refresh",
                json={"refresh_token": self.refresh_token}))
        answer = self.client.get("/api/v1/workbench/tasks?status=pending&page_size=20",
                                 name="GET /api/v1/workbench/tasks", headers=self.headers)
        queue = answer.json() if answer.status_code == 200 else []
        if not queue:
            self._idle()
            gevent.sleep(OFFICER_POLL_SECONDS)
            return
        state["idle_since"].pop(self.department, None)
        for item in queue:
            self._handle(item)

    def _handle(self, item: dict) -> None:
        # As the workbench's task page: open the task, claim it, complete it from the claim's
        # answer.
        task_id = item["id"]
        self.client.get(f"/api/v1/workbench/tasks/{task_id}",
                        name="GET /api/v1/workbench/tasks/{id}", headers=self.headers)
        with self.client.post(f"/api/v1/workbench/tasks/{task_id}/claim",
                              name="POST /api/v1/workbench/tasks/{id}/claim",
                              headers=self.headers, catch_response=True) as answer:
            if answer.status_code == 409:
                answer.success()  # another officer was quicker: the queue moves on
                return
        outputs = outputs_for(self.steps.get(item["matter"]) or {}, self.rng)
        self.client.post(f"/api/v1/workbench/tasks/{task_id}/complete",
                         name="POST /api/v1/workbench/tasks/{id}/complete",
                         headers=self.headers, json={"outputs": outputs})

    def _idle(self) -> None:
        """When the citizens have stopped and every department's queue is empty, the run ends."""
        idle = state["idle_since"]
        idle.setdefault(self.department, time.time())
        citizens_stopped = CITIZEN_SECONDS and time.time() - started > CITIZEN_SECONDS
        settled = all(time.time() - idle.get(d, time.time()) >= OFFICER_POLL_SECONDS
                      for d in DEPARTMENTS)
        if citizens_stopped and not state["in_flight"] and len(idle) == len(DEPARTMENTS) \
                and settled and not state["quit"]:
            state["quit"] = True
            gevent.spawn_later(0.1, self.environment.runner.quit)


def _officer_class(department: str) -> type:
    name = "".join(part.title() for part in department.split("_")) + "Officer"
    return type(name, (Officer,), {"department": department, "__module__": __name__})


HealthOfficer = _officer_class("health")
CommunityHealthOfficer = _officer_class("community_health")
PublicSecurityOfficer = _officer_class("public_security")
MedicalInsuranceOfficer = _officer_class("medical_insurance")
TaxationOfficer = _officer_class("taxation")
HrssOfficer = _officer_class("hrss")


# ── The overhead ratio: applications only, ours and the bare baseline ────────────────────────

class PreparedCitizen(SignedIn):
    """Signs citizens in and uploads their materials until BENCH_POOL_SIZE are ready, then ends
    the run: the apply-only load starts with them, so that it measures applying alone."""
    wait_time = constant(0)

    @task
    def prepare(self):
        if len(prepared) + state["in_flight"] >= POOL_SIZE:
            if not state["in_flight"] and not state["quit"]:
                state["quit"] = True
                gevent.spawn_later(0.1, self.environment.runner.quit)
            gevent.sleep(0.2)
            return
        state["in_flight"] += 1
        try:
            materials = self.upload_materials() if self.sign_in() else None
            if materials:
                prepared.append({"phone": self.phone, "headers": self.headers,
                                 "identity": self.identity, "materials": materials})
        finally:
            state["in_flight"] -= 1


def _load_pool() -> list[dict]:
    if not POOL:
        return []
    with open(POOL, encoding="utf-8") as handle:
        return json.load(handle)


_pool = iter(_load_pool())


class Applicant(SignedIn):
    wait_time = constant(0)

    def on_start(self):
        self.materials, self.applied = None, 0

    def next_citizen(self) -> bool:
        """The next prepared citizen; signed in here when none is left (counted: its requests
        then weigh on the measured load)."""
        citizen = next(_pool, None)
        self.applied = 0
        if citizen is not None:
            self.phone, self.headers = citizen["phone"], citizen["headers"]
            self.identity, self.materials = citizen["identity"], citizen["materials"]
            self.rng = random.Random(self.phone)
            return True
        state["signed_in_while_applying"] += 1
        self.materials = self.upload_materials() if self.sign_in() else None
        return bool(self.materials)

    @task
    def apply_again(self):
        if (not self.materials or self.applied >= APPLY_PER_CITIZEN) and not self.next_citizen():
            gevent.sleep(1)
            return
        self.iterations = getattr(self, "iterations", 0) + 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()
        self.applied += 1
        self.apply(self.materials)


class BaselineApplicant(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.applied = APPLY_PER_CITIZEN

    @task
    def apply(self):
        self.iterations = getattr(self, "iterations", 0) + 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()
        if self.applied >= APPLY_PER_CITIZEN:  # the next citizen, as `Applicant` takes them
            self.owner, self.applied = uuid.uuid4().hex, 0
            self.rng = random.Random(self.owner)
            self.materials = [uuid.uuid4().hex[:24] for _ in MATERIALS]
        self.applied += 1
        body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                "form": newborn_form(self.rng), "materials": self.materials}
        self.client.post("/apply", json=body, name="POST /apply (baseline)",
                         headers={"X-Owner": self.owner, "Idempotency-Key": uuid.uuid4().hex})
