import io
import itertools
import uuid

import pytest
from PIL import Image

from common import crypto
from models.application import Application
from models.material import Material
from models.user import User
from services.errors import (
    Forbidden,
    NotFound,
    PreconditionRequired,
    Unauthorized,
    ValidationFailed,
)
from services.identity import citizens, otp
from services.identity.tokens import Principal
from services.workflow import assisted
from tests.helpers import make_clerk, make_material
from tests.services.workflow.test_simulator import (
    NEWBORN_MATERIALS,
    newborn_catalogue,
    newborn_form,
)

__all__ = ["newborn_catalogue"]  # the fixture, used by name below

_phones = itertools.count(13957710001)


def clerk_at(station="ruian-hospital") -> Principal:
    user = make_clerk(station)
    return Principal(id=str(user.id), role="clerk", station=station)


def code_for(clerk, phone) -> str:
    return assisted.send_consent_code(clerk=clerk, phone=phone, client_ip="10.0.0.9").debug_code


def scan(colour) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    buffer.seek(0)
    return buffer


def consent_with_scans(clerk, phone) -> str:
    """The citizen consents; the clerk scans the four originals into their vault."""
    consent = assisted.verify_consent(clerk=clerk, phone=phone, code=code_for(clerk, phone))
    for n, material_type in enumerate(NEWBORN_MATERIALS):
        assisted.scan_original(clerk=clerk, consent=consent.token, type=material_type,
                               stream=scan((40 * n, 90, 200)), filename=f"{material_type}.jpg")
    return consent.token


def apply(clerk, *, key=None, **fields):
    arguments = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": newborn_form(),
                 "materials": [], "originals_checked": list(NEWBORN_MATERIALS), **fields}
    return assisted.apply_for_citizen(clerk=clerk, idempotency_key=key or uuid.uuid4().hex,
                                      **arguments)


def test_the_application_belongs_to_the_citizen_and_says_it_was_made_at_the_station(
        newborn_catalogue):
    clerk, phone = clerk_at(), str(next(_phones))
    consent = consent_with_scans(clerk, phone)

    application = apply(clerk, consent=consent)

    citizen = User.objects.get(phone_index=crypto.blind_index("phone", phone))
    assert application.applicant == str(citizen.id)
    assert application.channel == "station" and application.station == "ruian-hospital"
    assert application.clerk == clerk.id
    received = application.events[0]
    assert received["type"] == "application_received" and received["actor_role"] == "clerk"
    assert received["data"]["station"] == "ruian-hospital"
    checked = [e for e in application.events if e["type"] == "originals_checked"]
    assert checked[0]["data"]["materials"] == list(NEWBORN_MATERIALS)
    assert assisted.originals_checked(application) == list(NEWBORN_MATERIALS)
    # the clerk's scans are the citizen's materials, given to the application
    owners = {m.owner for m in Material.objects(id__in=application.materials)}
    assert owners == {str(citizen.id)} and len(application.materials) == 4


def test_a_citizen_whose_vault_holds_the_materials_consents_with_the_code_alone(
        newborn_catalogue):
    clerk, phone = clerk_at(), str(next(_phones))
    citizen = citizens.find_or_create_citizen(phone=phone)  # uploaded from their app earlier
    for material_type in NEWBORN_MATERIALS:
        make_material(citizen, type=material_type)

    application = apply(clerk, phone=phone, code=code_for(clerk, phone))

    assert application.applicant == str(citizen.id)
    assert len(application.materials) == 4


def test_a_wrong_code_creates_nothing():
    clerk, phone = clerk_at(), str(next(_phones))
    code_for(clerk, phone)
    with pytest.raises(Unauthorized):
        assisted.verify_consent(clerk=clerk, phone=phone, code="000000")
    assert User.objects(phone_index=crypto.blind_index("phone", phone)).count() == 0


def test_a_sign_in_code_is_no_consent():
    clerk, phone = clerk_at(), str(next(_phones))
    login = otp.request_code(phone=phone, purpose="login").debug_code
    with pytest.raises(Unauthorized):
        assisted.verify_consent(clerk=clerk, phone=phone, code=login)


def test_a_consent_serves_only_the_clerk_who_received_it():
    clerk, phone = clerk_at(), str(next(_phones))
    consent = assisted.verify_consent(clerk=clerk, phone=phone, code=code_for(clerk, phone))
    colleague_elsewhere = clerk_at("ruian-maternity")
    with pytest.raises(Forbidden):
        assisted.scan_original(clerk=colleague_elsewhere, consent=consent.token,
                               type="parent_id_card", stream=scan((1, 2, 3)))
    with pytest.raises(Forbidden):
        assisted.citizen_of_consent(clerk=clerk, consent=consent.token + "x")


def test_an_original_not_on_the_checklist_is_refused_before_the_code_is_spent(
        newborn_catalogue):
    clerk, phone = clerk_at(), str(next(_phones))
    consent = consent_with_scans(clerk, phone)
    with pytest.raises(ValidationFailed) as refused:
        apply(clerk, consent=consent, originals_checked=["passport"])
    assert "originals_checked" in refused.value.errors
    assert Application.objects.count() == 0
    assert apply(clerk, consent=consent).status == "in_progress"


def test_a_retry_with_the_same_key_answers_the_same_application(newborn_catalogue):
    clerk, phone = clerk_at(), str(next(_phones))
    consent = consent_with_scans(clerk, phone)
    first = apply(clerk, consent=consent, key="station-retry-1")
    again = apply(clerk, consent=consent, key="station-retry-1")
    assert again.id == first.id
    assert Application.objects.count() == 1


def test_an_application_needs_a_key_and_a_consent(newborn_catalogue):
    clerk = clerk_at()
    with pytest.raises(PreconditionRequired):
        assisted.apply_for_citizen(clerk=clerk, idempotency_key=None, bundle="newborn",
                                   subject={}, form={}, materials=[], originals_checked=[],
                                   consent="anything")
    with pytest.raises(ValidationFailed) as refused:
        apply(clerk, phone=str(next(_phones)))
    assert "consent" in refused.value.errors


def test_a_clerk_sees_only_what_their_station_created(newborn_catalogue):
    here, there = clerk_at("ruian-hospital"), clerk_at("ruian-maternity")
    mine = apply(here, consent=consent_with_scans(here, str(next(_phones))))
    theirs = apply(there, consent=consent_with_scans(there, str(next(_phones))))

    colleague = clerk_at("ruian-hospital")
    listed, total = assisted.list_for_station(clerk=colleague)
    assert [a.id for a in listed] == [mine.id] and total == 1
    assert assisted.get_for_station(clerk=colleague, application_id=str(mine.id)).id == mine.id
    with pytest.raises(NotFound):
        assisted.get_for_station(clerk=colleague, application_id=str(theirs.id))


def test_an_account_without_a_station_cannot_assist():
    with pytest.raises(Forbidden):
        assisted.send_consent_code(clerk=Principal(id="x", role="clerk"), phone="13957700000",
                                   client_ip=None)
