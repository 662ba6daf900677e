"""Traffic through the API while the test kills the database under it (run as a process of its
own by tests/common/test_outage_under_traffic.py, on the database MONGODB_URI names).

Citizens apply (each application retried with its Idempotency-Key until answered, like the app
does), officers claim and complete what their queue shows; every answer is recorded with how
long it took. A line "stop" on stdin ends the traffic; then the notification worker runs until
nothing is due and the process prints one JSON line: the answers, and what the database holds.
"""
import itertools
import json
import sys
import threading
import time
from collections import Counter, defaultdict

from api import create_app
from models.application import Application
from models.material import Material
from models.notification import Delivery, DeliveryStatus, Notification
from notifications.worker import Worker
from services.identity import numbers
from tests import workflow_support as ws
from tests.helpers import ApiClient, make_officer

APPLY = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"
CITIZENS, OFFICERS_PER_DEPARTMENT = 3, 1
GIVE_UP_AFTER = 60.0  # a client retrying one request this long means the system never came back


class Recorder:
    """Every answer: what was asked, its status, Retry-After, the error shape, how long it took."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[dict] = []

    def call(self, client: ApiClient, method: str, url: str, **kwargs):
        started = time.monotonic()
        response = client.request(method, url, **kwargs)
        body = response.get_json(silent=True)
        entry = {"what": f"{method} {url.split('/')[3]}", "status": response.status_code,
                 "seconds": round(time.monotonic() - started, 3),
                 "retry_after": response.headers.get("Retry-After"),
                 "error": body.get("error") if isinstance(body, dict) else None,
                 "shape": isinstance(body, dict) and {"code", "status", "error", "message",
                                                      "errors"} <= set(body)}
        with self.lock:
            self.answers.append(entry)
        return response, body


def citizen(client: ApiClient, parent, materials: list[str], recorder: Recorder,
            stop: threading.Event, acknowledged: dict) -> None:
    for n in itertools.count(1):
        if stop.is_set():
            return
        key = f"{parent.id}-{n}"
        body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "materials": materials,
                "form": ws.newborn_form(newborn_name=f"Baby {n}")}
        deadline = time.monotonic() + GIVE_UP_AFTER
        # A started application is pursued to its answer even after "stop", as the app would.
        while time.monotonic() < deadline:
            response, answer = recorder.call(client, "POST", APPLY, json=body,
                                             headers={"Idempotency-Key": key})
            if response.status_code in (200, 201):
                acknowledged[key].append(answer["id"])
                if n % 3 == 0:  # a double tap: the same key again must name the same one
                    again, replay = recorder.call(client, "POST", APPLY, json=body,
                                                  headers={"Idempotency-Key": key})
                    if again.status_code in (200, 201):
                        acknowledged[key].append(replay["id"])
                break
            if response.status_code != 503:
                break
            time.sleep(0.2)


def officer(client: ApiClient, recorder: Recorder, stop: threading.Event,
            sequence: itertools.count) -> None:
    while not stop.is_set():
        response, queue = recorder.call(client, "GET", f"{TASKS}?status=pending&page_size=5")
        if response.status_code != 200 or not queue:
            time.sleep(0.2 if response.status_code == 503 else 0.05)
            continue
        task = queue[0]
        claimed, _ = recorder.call(client, "POST", f"{TASKS}/{task['id']}/claim")
        if claimed.status_code != 200:
            continue
        outputs = ws.outputs_for(task["matter"])
        if "citizen_id_number" in outputs:
            outputs["citizen_id_number"] = numbers.make_id_number(
                "330381", ws.birth_date(), next(sequence), "female")
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:  # a completion is retried until it is answered
            done, _ = recorder.call(client, "POST", f"{TASKS}/{task['id']}/complete",
                                    json={"outputs": outputs})
            if done.status_code != 503:
                break
            time.sleep(0.2)


def facts(acknowledged: dict) -> dict:
    """What the database holds once the traffic ended and the worker ran."""
    steps = len(ws.NEWBORN_STEPS)
    applications = list(Application.objects())
    keys = Counter(a.idempotency_key for a in applications)
    completed = [(a, t) for a in applications for t in a.tasks if t.status == "completed"]
    told = Counter((n.task, n.type) for n in Notification.objects(type="task_completed"))
    stored = {str(a.id) for a in applications}
    elicences = [e for _, t in completed for e in t.elicences or []]
    issued = {str(m.id) for m in Material.objects(id__in=elicences).only("id")}
    return {
        "applications": len(applications),
        "half_written": [str(a.id) for a in applications
                         if len(a.tasks) != steps or not a.events or not a.form],
        "keys_with_two_applications": [k for k, count in keys.items() if count > 1],
        "acknowledged_keys": len(acknowledged),
        "acknowledged_missing": [i for ids in acknowledged.values() for i in ids
                                 if i not in stored],
        "keys_answered_with_two_ids": [k for k, ids in acknowledged.items() if len(set(ids)) > 1],
        "completed_tasks": len(completed),
        "completed_without_notification": [t.id for _, t in completed
                                           if told[(t.id, "task_completed")] != 1],
        "elicences_named": len(elicences),
        "elicences_missing": sorted(set(elicences) - issued),
        "outboxes_left": Application.objects(outbox_pending=True).count(),
        "deliveries_pending": Delivery.objects(status=DeliveryStatus.PENDING.value).count(),
        "notifications": Notification.objects.count(),
    }


def main() -> None:
    app = create_app("test")
    recorder, stop, sequence = Recorder(), threading.Event(), itertools.count(100)
    acknowledged: dict[str, list[str]] = defaultdict(list)
    with app.app_context():
        ws.load_catalogue()
        threads = []
        for n in range(1, CITIZENS + 1):
            parent = ws.make_parent(n)
            client = ApiClient(app.test_client(), parent, {"Accept-Language": "en"})
            threads.append(threading.Thread(target=citizen, args=(
                client, parent, ws.newborn_materials(parent), recorder, stop, acknowledged)))
        for department in ws.NEWBORN_DEPARTMENTS:
            for _ in range(OFFICERS_PER_DEPARTMENT):
                client = ApiClient(app.test_client(), make_officer(department))
                threads.append(threading.Thread(target=officer,
                                                args=(client, recorder, stop, sequence)))
    print("ready", flush=True)
    for thread in threads:
        thread.start()
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()
    for thread in threads:
        thread.join()
    with app.app_context():
        Worker(app.config).run(once=True)
        print(json.dumps({"answers": recorder.answers, "facts": facts(acknowledged)}),
              flush=True)


if __name__ == "__main__":
    main()
