"""Notification test data: applications whose outbox holds intents shaped as the workflow writes
them, a worker configured to retry quickly, and the devices and deliveries the tests look at."""
import uuid
from datetime import UTC, datetime

from models.application import Application, Task
from models.base import utcnow
from models.device import Device
from models.notification import Delivery
from notifications.worker import Worker

FAST = {"NOTIFICATION_BACKOFF_BASE": 0.05, "NOTIFICATION_BACKOFF_MAX": 0.2,
        "NOTIFICATION_LEASE_SECONDS": 30, "NOTIFICATION_POLL_SECONDS": 0.05}


def intent(type_: str, recipient, *, application: str = "app-1", bundle: str = "newborn",
           task: str | None = None, matter: str | None = None, department: str | None = None,
           data: dict | None = None) -> dict:
    return {"id": uuid.uuid4().hex, "type": type_, "at": datetime.now(UTC),
            "recipient": str(getattr(recipient, "id", recipient)), "application": application,
            "bundle": bundle, "task": task or uuid.uuid4().hex, "matter": matter,
            "department": department, "data": data or {}}


def completed(recipient, matter="newborn_household_registration", department="public_security",
              outputs=("citizen_id_number",), **kw) -> dict:
    return intent("task_completed", recipient, matter=matter, department=department,
                  data={"outputs": list(outputs)}, **kw)


def application_with(citizen, intents: list[dict]) -> Application:
    """An application whose outbox holds these intents, as a workflow change leaves it."""
    app = Application(applicant=str(citizen.id), bundle="newborn", bundle_version=1,
                      subject={"kind": "self"},
                      tasks=[Task(id=uuid.uuid4().hex, matter="birth_medical_certificate",
                                  department="health", status="pending")],
                      outbox=[], outbox_pending=False).save()
    for item in intents:
        item["application"] = str(app.id)
    Application.objects(id=app.id).update(
        __raw__={"$push": {"outbox": {"$each": intents}}, "$set": {"outbox_pending": True}})
    return app


def fast_worker(app, **overrides) -> Worker:
    return Worker({**app.config, **FAST, **overrides})


def drain(worker, now=None, rounds=20):
    for _ in range(rounds):
        if not worker.run_once(now):
            return


def device(user, token, locale=None, platform="android"):
    return Device(user=str(user.id), token=token, platform=platform, locale=locale).save()


def now_ms():
    """Now, to the millisecond the database keeps."""
    moment = utcnow()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def push_of(notification_id):
    return Delivery.objects.get(id=f"{notification_id}:push")
