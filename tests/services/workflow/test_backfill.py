"""Applications made before regions get Ruian, the one region there was, once, and their tasks
the queue keys of their regions."""
from models.application import Application
from services.workflow import backfill, handling, submission, workbench
from tests import workflow_support as ws
from tests.helpers import make_officer


def legacy_application() -> Application:
    """A newborn application as it was stored before regions: no region anywhere (nor a queue
    key, which came later still)."""
    ws.load_catalogue()
    parent = ws.make_parent()
    made = submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key="old")
    Application._get_collection().update_one(
        {"_id": made.pk}, {"$unset": {"region": "", **{f"tasks.{n}.{name}": ""
                                                      for n in range(len(made.tasks))
                                                      for name in ("region", "queue")}},
                           "$inc": {"version": 1}})
    return made


def test_an_application_from_before_regions_is_ruians_and_its_police_work_it_again():
    made = legacy_application()
    police = make_officer("public_security", region="330381")
    health = make_officer("health", region="330381")
    birth = made.task_for("birth_medical_certificate").id
    assert workbench.list_tasks(officer=health) == ([], 0)  # unseen while it has no region

    assert backfill.backfill_regions() == 1
    assert backfill.backfill_regions() == 0

    stored = Application.objects.get(id=made.id)
    assert stored.region == "330381" and {t.region for t in stored.tasks} == {"330381"}
    handling.claim_task(task_id=birth, officer=health)
    handling.complete_task(task_id=birth, officer=health,
                           outputs=ws.outputs_for("birth_medical_certificate"))
    registration = made.task_for("newborn_household_registration").id
    assert registration in [t["id"] for t in workbench.list_tasks(officer=police)[0]]
