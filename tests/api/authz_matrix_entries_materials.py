"""Authorization matrix entries of materials and the vault (see authz_matrix.py)."""
import io
import itertools
from types import SimpleNamespace

from services.materials import uploads
from services.workflow import handling, submission
from tests import material_files as files
from tests import workflow_support as ws
from tests.api.authz_matrix import (
    Call,
    Entry,
    by_actor,
    citizen_only,
    newborn_form,
    public,
    staff_only,
)
from tests.helpers import make_material, make_officer

ENTRIES: dict[str, Entry] = {}
_sequence = itertools.count(1)


def _photo(world, type_code: str = "parent_id_card") -> str:
    """A real photo, uploaded by citizen A into their vault (each call a different picture)."""
    ws.load_catalogue()
    shade = next(_sequence) % 250
    material, _ = uploads.store_upload(
        owner_id=str(world.citizen_a.id), type_code=type_code,
        stream=io.BytesIO(files.jpeg(colour=(shade, 90, 200 - shade // 2))),
        filename=f"{type_code}.jpg")
    return str(material.id)


def _case(world) -> SimpleNamespace:
    """Citizen A's newborn application, given a real photo of the parents' ID cards.

    The police's household registration (the matrix's officer's department) needs that
    material; the birth certificate is done, so the task is in the officer's hands. The tax
    bureau's premium payment (the other officer's department) is on the same application but
    needs no material at all. Made once per route: every actor reads the same material.
    """
    if getattr(world, "materials_case", None) is None:
        photo = _photo(world)
        others = [str(make_material(world.citizen_a, t).id) for t in ws.NEWBORN_MATERIALS
                  if t != "parent_id_card"]
        application = submission.submit_application(
            applicant_id=str(world.citizen_a.id), bundle="newborn",
            subject={"kind": "newborn"}, materials=[photo, *others],
            form=newborn_form(),
            idempotency_key=f"matrix-materials-{next(_sequence)}")
        health = make_officer("health")
        birth = application.task_for("birth_medical_certificate").id
        handling.claim_task(task_id=birth, officer=health)
        handling.complete_task(task_id=birth, officer=health,
                               outputs=ws.outputs_for("birth_medical_certificate"))
        police = application.task_for("newborn_household_registration").id
        handling.claim_task(task_id=police, officer=world.officer)
        world.materials_case = SimpleNamespace(
            material=photo, police_task=police,
            tax_task=application.task_for("medical_insurance_payment").id)
    return world.materials_case


def _task_of(world, actor) -> str:
    """The task an officer names: their own department's task on the application."""
    case = _case(world)
    return case.tax_task if actor == "officer_other" else case.police_task


def _upload(world, actor):
    ws.load_catalogue()
    return Call("/api/v1/materials", content_type="multipart/form-data", data={
        "type": "parent_id_card",
        "file": (io.BytesIO(files.jpeg_with_gps()), "id-card.jpg", "image/jpeg")})


def _link(world, actor):
    case = _case(world)
    return Call(f"/api/v1/workbench/materials/{case.material}/links",
                json={"task": _task_of(world, actor)})


def _review(world, actor):
    case = _case(world)
    return Call(f"/api/v1/workbench/materials/{case.material}/review",
                json={"decision": "verified", "task": _task_of(world, actor)})


# The owner, and the officer whose task needs the material; nobody else, admins included.
# The police of another region read nothing of a Ruian application's materials.
READERS = {"citizen_b": 404, "officer": 200, "officer_other": 404, "officer_elsewhere": 404,
           "clerk": 404, "agent": 404, "agent_other": 404, "admin": 404}
OFFICERS_ONLY = {"officer_other": 404, "officer_elsewhere": 404, "clerk": 403, "admin": 403}

ENTRIES.update({
    "POST /api/v1/materials": Entry(_upload, citizen_only(201)),
    "GET /api/v1/materials/limits": Entry(lambda w, a: "/api/v1/materials/limits",
                                          public(200)),
    "GET /api/v1/materials/<material_id>": Entry(
        lambda w, a: f"/api/v1/materials/{_case(w).material}",
        by_actor(anonymous=401, citizen_a=200, partner=403, **READERS)),
    # The bytes route authenticates by itself (a signed link needs no header): a partner token
    # is a caller with no material of its own, so the partner gets the not-found answer.
    "GET /api/v1/materials/<material_id>/content": Entry(
        lambda w, a: f"/api/v1/materials/{_case(w).material}/content",
        by_actor(anonymous=401, citizen_a=200, partner=404, **READERS)),
    "DELETE /api/v1/materials/<material_id>": Entry(
        lambda w, a: f"/api/v1/materials/{_photo(w)}", citizen_only(204, citizen_b=404)),
    "POST /api/v1/workbench/materials/<material_id>/links": Entry(
        _link, staff_only(officer=201, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/materials/<material_id>/review": Entry(
        _review, staff_only(officer=200, **OFFICERS_ONLY)),
    "GET /api/v1/me/materials": Entry(lambda w, a: "/api/v1/me/materials", citizen_only(200)),
    "GET /api/v1/me/materials/<material_id>/accesses": Entry(
        lambda w, a: f"/api/v1/me/materials/{_photo(w)}/accesses",
        citizen_only(200, citizen_b=404)),
})
