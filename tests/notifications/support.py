"""Notification test data: applications whose outbox holds intents shaped as the workflow writes
them, and a worker configured to retry quickly."""
import uuid
from datetime import UTC, datetime

from models.application import Application, Task
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
