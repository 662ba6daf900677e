"""Authorization matrix entries of the service loop: ratings and rectification, proactive offers
and life events, public figures (see authz_matrix.py)."""
import itertools
from datetime import timedelta

from models.base import utcnow
from models.offer import OfferSource
from services.offers import offers
from services.ratings import ratings, rectifications
from services.workflow import handling, submission
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.api.authz_matrix import (
    RIGHT_DEPARTMENT,
    Call,
    Entry,
    by_actor,
    citizen_only,
    newborn_form,
    public,
    staff_only,
)
from tests.helpers import make_officer

ENTRIES: dict[str, Entry] = {}
_keys = itertools.count(1)




def _application(world):
    """Citizen A's newborn application whose birth certificate (and, asked, household
    registration by the matrix's department) is done."""
    ws.load_catalogue()
    application = submission.submit_application(
        applicant_id=str(world.citizen_a.id), bundle="newborn", subject={"kind": "newborn"},
        form=newborn_form(), materials=ws.newborn_materials(world.citizen_a),
        idempotency_key=f"loop-matrix-{next(_keys)}")
    staff = {"health": make_officer("health"), RIGHT_DEPARTMENT: make_officer(RIGHT_DEPARTMENT)}
    for matter in ("birth_medical_certificate", "newborn_household_registration"):
        task = application.task_for(matter)
        officer = staff[ws.NEWBORN_STEPS[matter][0]]
        handling.claim_task(task_id=task.id, officer=officer)
        application = handling.complete_task(task_id=task.id, officer=officer,
                                             outputs=ws.outputs_for(matter))
    return application


def _rate(world, actor):
    application = _application(world)
    return Call(f"/api/v1/applications/{application.id}/ratings",
                json={"task": application.task_for("birth_medical_certificate").id,
                      "score": 4, "tags": ["fast"]})


def _case(world, *, replied: bool) -> str:
    """A fresh case of the matrix's department in its officer's region (citizen A rated 1)."""
    application = _application(world)
    task = application.task_for("newborn_household_registration").id
    rating = ratings.rate(application_id=str(application.id), citizen=world.citizen_a,
                          task=task, score=1, tags=["slow"])
    if replied:
        rectifications.reply(case_id=rating.rectification.id, officer=world.officer,
                             text="We are sorry")
    return rating.rectification.id


def _offer(world) -> str:
    """An open newborn offer of citizen A's, with what the application needs filled in."""
    ws.load_catalogue()
    ws.newborn_materials(world.citizen_a)
    made = offers.make_offer(
        citizen_id=str(world.citizen_a.id), key=f"matrix:{next(_keys)}",
        source=OfferSource.LIFE_EVENT.value, bundle="newborn", subject={"kind": "newborn"},
        prefill={"form": newborn_form(), "facts": {}}, region="330381",
        expires_at=utcnow() + timedelta(days=30))
    return str(made.id)


def _accept(world, actor):
    return Call(f"/api/v1/me/offers/{_offer(world)}/accept", json={},
                headers={"Idempotency-Key": f"matrix-{next(_keys)}"})


def _life_event(world, actor):
    ws.load_catalogue()
    return Call("/api/v1/partner/life-events", json=loop.birth_event(f"matrix-{next(_keys)}"))


def _reform(world, actor):
    ws.load_catalogue()
    return "/api/v1/stats/reform?bundle=newborn&region=330381&from=2026-01-01"


OFFICERS_ONLY = {"officer_other": 404, "officer_elsewhere": 404, "clerk": 403, "admin": 403}

ENTRIES.update({
    "GET /api/v1/applications/<application_id>/ratings": Entry(
        lambda w, a: f"/api/v1/applications/{_application(w).id}/ratings",
        citizen_only(200, citizen_b=404)),
    "POST /api/v1/applications/<application_id>/ratings": Entry(
        _rate, citizen_only(201, citizen_b=404)),
    "GET /api/v1/workbench/rectifications": Entry(
        lambda w, a: "/api/v1/workbench/rectifications",
        staff_only(officer=200, officer_other=200, officer_elsewhere=200, clerk=403,
                   admin=403)),
    "POST /api/v1/workbench/rectifications/<case_id>/reply": Entry(
        lambda w, a: Call(f"/api/v1/workbench/rectifications/{_case(w, replied=False)}/reply",
                          json={"text": "We looked into it"}),
        staff_only(officer=200, **OFFICERS_ONLY)),
    "POST /api/v1/workbench/rectifications/<case_id>/resolve": Entry(
        lambda w, a: Call(f"/api/v1/workbench/rectifications/{_case(w, replied=True)}/resolve",
                          json={"text": "Fixed"}),
        staff_only(officer=200, **OFFICERS_ONLY)),
    "GET /api/v1/me/offers": Entry(lambda w, a: "/api/v1/me/offers", citizen_only(200)),
    "POST /api/v1/me/offers/<offer_id>/accept": Entry(
        _accept, citizen_only(201, citizen_b=404)),
    "POST /api/v1/me/offers/<offer_id>/decline": Entry(
        lambda w, a: f"/api/v1/me/offers/{_offer(w)}/decline",
        citizen_only(204, citizen_b=404)),
    # Citizens, staff and partners without the scope are refused; the hospital is heard.
    "POST /api/v1/partner/life-events": Entry(
        _life_event, by_actor(403, anonymous=401, partner=202)),
    "GET /api/v1/stats/ratings": Entry(lambda w, a: "/api/v1/stats/ratings", public(200)),
    "GET /api/v1/stats/reform": Entry(_reform, public(200)),
})
