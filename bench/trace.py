"""Which database commands each request of one birth sends, by name: the detail behind the
X-DB-Commands figures, for whoever has to bring an endpoint back within its budget.

Runs in-process against the bench's database with the bench's settings (a test client of the
real app; pymongo command monitoring registered before the app connects): one citizen signs in,
verifies their real name, applies for the newborn bundle and reads; the six departments'
officers work the seven tasks in dependency order, each as the workbench's task page does (open
the task, claim, complete); then the citizen signs in again (a returning citizen) and an officer
signs in. Writes {"requests": [{"endpoint", "status", "header", "commands"}], "summary",
"relay", "mismatched"} as JSON; a request the app refused stops the trace with its answer.

    python -m bench.trace --out var/bench/trace.json --sms-url http://127.0.0.1:N \
        --officer-prefix bench.officer. --officer-password ...
"""
import argparse
import io
import json
import random
import threading
import time
import urllib.request
import uuid

from pymongo import monitoring

from api import create_app
from bench.scenario_data import (
    MATERIALS,
    REGION,
    identity,
    material_file,
    newborn_form,
    outputs_for,
)
from models.base import utcnow
from notifications import relay

# The driver's own traffic, not the request's (as common.db_metrics excludes it).
DRIVER_COMMANDS = {"hello", "ismaster", "isMaster", "ping", "endSessions"}
FILTER_FIELDS = ("filter", "query", "q")


def describe(command_name: str, command: dict) -> str:
    """`find applications {tasks}`: the command, its collection, the fields it selects on."""
    collection = command.get(command_name)
    if command_name == "getMore":
        collection = command.get("collection")
    text = f"{command_name} {collection}" if isinstance(collection, str) else command_name
    selector = next((command[k] for k in FILTER_FIELDS if isinstance(command.get(k), dict)), None)
    if selector is None and command_name in ("update", "delete"):
        statements = command.get("updates") or command.get("deletes") or []
        selector = statements[0].get("q") if statements else None
    if command_name == "insert":
        text += f" ({len(command.get('documents') or [])} doc)"
    elif isinstance(selector, dict):
        text += " {" + ", ".join(sorted(selector)) + "}"
    return text


class Recorder(monitoring.CommandListener):
    """Names of the commands the current request's thread sends."""

    def __init__(self):
        self.thread = threading.get_ident()
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if threading.get_ident() == self.thread and event.command_name not in DRIVER_COMMANDS:
            self.commands.append(describe(event.command_name, event.command))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


class Tracer:
    def __init__(self, client, recorder: Recorder):
        self.client, self.recorder = client, recorder
        self.requests: list[dict] = []

    def call(self, method: str, path: str, endpoint: str, **kwargs):
        self.recorder.commands = []
        answer = getattr(self.client, method)(path, **kwargs)
        self.requests.append({"endpoint": endpoint, "status": answer.status_code,
                              "header": answer.headers.get("X-DB-Commands"),
                              "commands": list(self.recorder.commands)})
        if not 200 <= answer.status_code < 300:
            # The journey cannot go on without it: say which request and what it was told.
            raise SystemExit(f"the trace's {endpoint} was answered {answer.status_code}: "
                             f"{answer.get_data(as_text=True)[:1000]}")
        return answer


def sms_code(sms_url: str, phone: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{sms_url}/_standin/code?to={phone}",  # noqa: S310
                                        timeout=2) as answer:
                return json.load(answer)["code"]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


LANG = {"Accept-Language": "zh-CN"}


def sign_in(tracer: Tracer, sms_url: str, phone: str, endpoint: str) -> dict:
    """A citizen signs in by SMS code; `endpoint` names the sign-in in the trace."""
    tracer.call("post", "/api/v1/auth/otp", "POST /api/v1/auth/otp", json={"phone": phone},
                headers=LANG)
    return tracer.call("post", "/api/v1/auth/login", endpoint, headers=LANG, json={
        "phone": phone, "code": sms_code(sms_url, phone)}).get_json()


def staff_sign_in(tracer: Tracer, username: str, password: str) -> dict:
    tokens = tracer.call("post", "/api/v1/auth/staff-login", "POST /api/v1/auth/staff-login",
                         json={"username": username, "password": password}).get_json()
    return {**LANG, "Authorization": "Bearer " + tokens["access_token"]}


def one_birth(tracer: Tracer, *, sms_url: str, officer_prefix: str, officer_password: str,
              officers: dict[str, dict]) -> dict:
    """One family's journey and its seven tasks; returns what the relay trace needs."""
    rng = random.Random()
    phone = f"135{rng.randrange(10**8):08d}"
    lang = LANG
    tokens = sign_in(tracer, sms_url, phone, "POST /api/v1/auth/login")
    citizen = {**lang, "Authorization": "Bearer " + tokens["access_token"]}
    # Applying needs a verified real name, the one the form then gives for the applicant.
    person = identity(phone)
    tracer.call("post", "/api/v1/me/real-name", "POST /api/v1/me/real-name", headers=citizen,
                json={"name": person["applicant_name"], "id_number": person["applicant_id_number"]})
    tracer.call("post", "/api/v1/me/devices", "POST /api/v1/me/devices", headers=citizen,
                json={"token": f"trace-{uuid.uuid4().hex}", "platform": "android"})
    bundle = tracer.call("get", "/api/v1/bundles/newborn", "GET /api/v1/bundles/{code}",
                         headers=citizen).get_json()
    tracer.call("get", "/api/v1/bundles/newborn/checklist",
                "GET /api/v1/bundles/{code}/checklist", headers=citizen)
    materials = []
    for position, (type_code, filename, content_type) in enumerate(MATERIALS):
        content = material_file(position, content_type, rng)
        answer = tracer.call("post", "/api/v1/materials", "POST /api/v1/materials",
                             headers=citizen, content_type="multipart/form-data",
                             data={"type": type_code,
                                   "file": (io.BytesIO(content), filename, content_type)})
        materials.append(answer.get_json()["id"])
    application = tracer.call(
        "post", "/api/v1/applications", "POST /api/v1/applications",
        headers={**citizen, "Idempotency-Key": uuid.uuid4().hex},
        # Production has no default region: Ruian, where the bench's officers work.
        json={"bundle": "newborn", "subject": {"kind": "newborn"}, "region": REGION,
              "form": {**newborn_form(rng), **person}, "materials": materials}).get_json()
    path = f"/api/v1/applications/{application['id']}"
    tracer.call("get", path, "GET /api/v1/applications/{id}", headers=citizen)
    tracer.call("get", "/api/v1/me/notifications", "GET /api/v1/me/notifications",
                headers=citizen)

    steps = {s["matter"]: s for s in bundle["steps"]}
    for _ in range(len(steps) + 1):
        current = tracer.client.get(path, headers=citizen).get_json()
        pending = [t for t in current["tasks"] if t["status"] == "pending"]
        if not pending:
            break
        for item in pending:
            department = item["department"]
            if department not in officers:
                officers[department] = staff_sign_in(tracer, officer_prefix + department,
                                                     officer_password)
            headers = officers[department]
            tracer.call("get", "/api/v1/workbench/tasks?status=pending&page_size=20",
                        "GET /api/v1/workbench/tasks", headers=headers)
            # As the workbench's task page: open the task, claim it, complete it.
            task = f"/api/v1/workbench/tasks/{item['id']}"
            tracer.call("get", task, "GET /api/v1/workbench/tasks/{id}", headers=headers)
            tracer.call("post", task + "/claim", "POST /api/v1/workbench/tasks/{id}/claim",
                        headers=headers)
            tracer.call("post", task + "/complete", "POST /api/v1/workbench/tasks/{id}/complete",
                        headers=headers, json={"outputs": outputs_for(steps[item["matter"]],
                                                                      rng)})
    final = tracer.call("get", path, "GET /api/v1/applications/{id}", headers=citizen).get_json()
    tracer.call("get", "/api/v1/me/notifications", "GET /api/v1/me/notifications",
                headers=citizen)
    return {"citizen": tokens["user"]["id"], "phone": phone, "application": final}


def trace_relay(tracer: Tracer, app, birth: dict) -> dict:
    """The commands the worker's relay sends to move one completion's intent into the inbox
    (a fresh intent id, so it is stored once more: one more notification for this citizen)."""

    task = birth["application"]["tasks"][-1]
    intent = {"id": uuid.uuid4().hex, "type": "task_completed", "at": utcnow(),
              "recipient": birth["citizen"], "application": birth["application"]["id"],
              "bundle": "newborn", "task": task["id"], "matter": task["matter"],
              "department": task["department"], "data": {"outputs": sorted(task["outputs"])}}
    with app.app_context():
        tracer.recorder.commands = []
        relay.store(intent, application_id=birth["application"]["id"])
        return {"endpoint": "(worker) relay one intent", "commands": list(
            tracer.recorder.commands)}


def summarize(requests: list[dict]) -> dict[str, list[str]]:
    """Per endpoint, the commands of its most common shape (the one whose count is typical)."""
    by_endpoint: dict[str, list[list[str]]] = {}
    for request in requests:
        if 200 <= request["status"] < 300:
            by_endpoint.setdefault(request["endpoint"], []).append(request["commands"])
    summary = {}
    for endpoint, shapes in by_endpoint.items():
        counts = [len(s) for s in shapes]
        typical = max(set(counts), key=counts.count)
        summary[endpoint] = next(s for s in shapes if len(s) == typical)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--sms-url", required=True)
    parser.add_argument("--officer-prefix", required=True)
    parser.add_argument("--officer-password", required=True)
    args = parser.parse_args()

    recorder = Recorder()
    monitoring.register(recorder)  # before the app creates its client

    app = create_app()
    # The trace signs a citizen in again seconds after their first sign-in (a returning
    # citizen); the window counts in the same commands whatever its limit.
    app.config["OTP_PHONE_PER_MINUTE"] = 10
    tracer = Tracer(app.test_client(), recorder)
    officers: dict[str, dict] = {}
    # The first birth warms this process (caches, connections) as a long-running worker is
    # warm; the second is the one reported.
    for _ in range(2):
        tracer.requests = []
        birth = one_birth(tracer, sms_url=args.sms_url, officer_prefix=args.officer_prefix,
                          officer_password=args.officer_password, officers=officers)
    sign_in(tracer, args.sms_url, birth["phone"], "POST /api/v1/auth/login (returning)")
    staff_sign_in(tracer, args.officer_prefix + next(iter(officers)), args.officer_password)
    relayed = trace_relay(tracer, app, birth)
    mismatched = [r for r in tracer.requests
                  if r["header"] is not None and int(r["header"]) != len(r["commands"])]
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"requests": tracer.requests, "summary": summarize(tracer.requests),
                   "relay": relayed, "mismatched": len(mismatched)}, handle,
                  ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
