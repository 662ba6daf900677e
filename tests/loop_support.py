"""Test data of the service loop: finished newborn applications, a hospital that reports births,
the loop's sweep, and the FCM stand-in's pushes."""
import itertools
from datetime import UTC, date, datetime, timedelta

from cli.loop import sweep_once
from models.application import Application
from services.identity import numbers
from services.workflow import handling, submission
from tests import workflow_support as ws
from tests.helpers import ApiClient, make_officer, make_partner, partner_token

_keys = itertools.count(1)
MOTHER_ID = numbers.make_id_number("330381", date(1993, 4, 5), 21, "female")
FATHER_ID = numbers.make_id_number("330381", date(1991, 8, 9), 43, "male")


def officers() -> dict:
    return {d: make_officer(d) for d in ws.NEWBORN_DEPARTMENTS}


def submit_newborn(parent, **changes) -> Application:
    return submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(**changes), materials=ws.newborn_materials(parent),
        idempotency_key=f"loop-{next(_keys)}")


def work(application: Application, staff: dict, matter: str) -> Application:
    task = application.task_for(matter)
    officer = staff[ws.NEWBORN_STEPS[matter][0]]
    handling.claim_task(task_id=task.id, officer=officer)
    return handling.complete_task(task_id=task.id, officer=officer,
                                  outputs=ws.outputs_for(matter))


def finish(application: Application, staff: dict) -> Application:
    """Every department completes its task, in dependency order."""
    for matter in ws.NEWBORN_STEPS:
        application = work(application, staff, matter)
    assert application.status == "completed"
    return application


def finished_newborn(parent, staff: dict | None = None) -> Application:
    return finish(submit_newborn(parent), staff or officers())


def hospital(client: ApiClient, scopes=("life_events:write",)) -> ApiClient:
    """A hospital's system, registered as a partner and signed in with client credentials."""
    partner, _ = make_partner(scopes=list(scopes), name="Ruian People's Hospital")
    return client.with_headers(Authorization=f"Bearer {partner_token(partner)}")


def birth_event(event_id: str = "ruian-hospital-000123", **changes) -> dict:
    born = datetime.now(UTC) - timedelta(hours=3)
    event = {
        "event_id": event_id, "type": "birth", "occurred_at": born.isoformat(),
        "region": "330381",
        "people": [{"role": "mother", "id_number": MOTHER_ID, "name": "Chen Jing"},
                   {"role": "father", "id_number": FATHER_ID, "name": "Zhou Lei"}],
        "facts": {"newborn_name": "Zhou Xiaoyu", "newborn_gender": "female",
                  "birth_hospital": "Ruian People's Hospital",
                  "birth_certificate_number": "R330381001", "birth_weight_grams": 3300},
    }
    event.update(changes)
    return event


def sweep() -> dict:
    """The service loop's sweep, as `flask loop sweep` runs it."""
    return sweep_once()


def drain(worker) -> None:
    for _ in range(20):
        if not worker.run_once():
            return
