"""Authorization matrix entries of applications and the workbench (see authz_matrix.py)."""
import itertools

from services.workflow import handling, submission, supplements
from tests import workflow_support as ws
from tests.api.authz_matrix import Call, Entry, citizen_only, newborn_form, staff_only
from tests.helpers import make_material, make_officer

ENTRIES: dict[str, Entry] = {}
_keys = itertools.count(1)




def _body(world) -> dict:
    return {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": newborn_form(),
            "materials": ws.newborn_materials(world.citizen_a)}


def _application(world):
    """A fresh newborn application of citizen A."""
    ws.load_catalogue()
    return submission.submit_application(applicant_id=str(world.citizen_a.id),
                                       idempotency_key=f"matrix-{next(_keys)}", **_body(world))


def _waiting_police_task(world, actor) -> str:
    task = _application(world).task_for("newborn_household_registration").id
    return f"/api/v1/workbench/tasks/{task}"


def _police_task(world, *, claimed: bool) -> str:
    """Citizen A's household registration, pending at the right department (the police, as
    the matrix's officer), claimed by that officer when asked."""
    application = _application(world)
    health = make_officer("health")
    birth = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=birth.id, officer=health)
    handling.complete_task(task_id=birth.id, officer=health,
                           outputs=ws.outputs_for("birth_medical_certificate"))
    task = application.task_for("newborn_household_registration").id
    if claimed:
        handling.claim_task(task_id=task, officer=world.officer)
    return task


def _asked(world) -> tuple[str, str]:
    """An application awaiting a supplement, and a material answering it."""
    application = _application(world)
    health = make_officer("health")
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=health)
    supplements.request_supplement(task_id=task.id, officer=health,
                                materials=["birth_registration_form"], reason="stamp")
    return str(application.id), str(make_material(world.citizen_a, "birth_registration_form").id)


def _apply(world, actor):
    ws.load_catalogue()
    return Call("/api/v1/applications", json=_body(world),
                headers={"Idempotency-Key": f"matrix-{next(_keys)}"})


def _supplement(world, actor):
    application, material = _asked(world)
    return Call(f"/api/v1/applications/{application}/supplements",
                json={"materials": [material]})


def _officer_call(action: str, body: dict):
    def build(world, actor):
        return Call(f"/api/v1/workbench/tasks/{_police_task(world, claimed=True)}/{action}",
                    json=body)
    return build


# The task is citizen A's, in their region (Ruian), at the right department: another department
# and the same department of another region find nothing there, exactly as a missing task.
OFFICERS_ONLY = {"officer_other": 404, "officer_elsewhere": 404, "clerk": 403, "admin": 403}

ENTRIES.update({
    "GET /api/v1/applications": Entry(lambda w, a: "/api/v1/applications", citizen_only(200)),
    # Citizen B may not use citizen A's materials: the body is refused, nothing is created.
    "POST /api/v1/applications": Entry(_apply, citizen_only(201, citizen_b=422)),
    "GET /api/v1/applications/<application_id>": Entry(
        lambda w, a: f"/api/v1/applications/{_application(w).id}",
        citizen_only(200, citizen_b=404)),
    "GET /api/v1/applications/<application_id>/timeline": Entry(
        lambda w, a: f"/api/v1/applications/{_application(w).id}/timeline",
        citizen_only(200, citizen_b=404)),
    "POST /api/v1/applications/<application_id>/withdraw": Entry(
        lambda w, a: f"/api/v1/applications/{_application(w).id}/withdraw",
        citizen_only(200, citizen_b=404)),
    "POST /api/v1/applications/<application_id>/supplements": Entry(
        _supplement, citizen_only(200, citizen_b=404)),
    "GET /api/v1/workbench/tasks": Entry(
        lambda w, a: "/api/v1/workbench/tasks",
        staff_only(officer=200, officer_other=200, officer_elsewhere=200, clerk=403,
                   admin=403)),
    "GET /api/v1/workbench/tasks/counts": Entry(
        lambda w, a: "/api/v1/workbench/tasks/counts",
        staff_only(officer=200, officer_other=200, officer_elsewhere=200, clerk=403,
                   admin=403)),
    "GET /api/v1/workbench/tasks/<task_id>": Entry(
        _waiting_police_task, staff_only(officer=200, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/tasks/<task_id>/claim": Entry(
        lambda w, a: f"/api/v1/workbench/tasks/{_police_task(w, claimed=False)}/claim",
        staff_only(officer=200, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/tasks/<task_id>/complete": Entry(
        _officer_call("complete", {"outputs": {"citizen_id_number": ws.baby_id_number()}}),
        staff_only(officer=200, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/tasks/<task_id>/reject": Entry(
        _officer_call("reject", {"reason": "Not this county's register"}),
        staff_only(officer=200, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/tasks/<task_id>/supplement-request": Entry(
        _officer_call("supplement-request", {"materials": ["household_register"],
                                             "reason": "Page 2 is missing"}),
        staff_only(officer=200, **OFFICERS_ONLY)),
})
