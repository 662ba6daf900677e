"""Authorization matrix entries of assisted handling at service stations (see authz_matrix.py)."""
import io
import itertools

from services.identity import citizens, otp
from services.identity.tokens import decode_access_token, issue_access_token
from services.workflow import assisted
from tests import material_files as files
from tests import workflow_support as ws
from tests.api.authz_matrix import Call, Entry, staff_only

ENTRIES: dict[str, Entry] = {}
_keys = itertools.count(1)
BASE = "/api/v1/workbench/assisted-applications"
# A station's routes are the clerk's: officers of any department or region are refused.
OFFICERS_REFUSED = {"officer": 403, "officer_other": 403, "officer_elsewhere": 403}


def _clerk(world):
    """The matrix's clerk as their own token presents them to the services."""
    return decode_access_token(issue_access_token(world.clerk)[0])


def _consent(world) -> str:
    """Citizen A, at the clerk's station, reads out the code texted to them: their consent."""
    if getattr(world, "station_consent", None) is None:
        phone = citizens.phone_of(world.citizen_a)
        code = otp.request_code(phone=phone, purpose=assisted.PURPOSE).debug_code
        world.station_consent = assisted.verify_consent(clerk=_clerk(world), phone=phone,
                                                        code=code).token
    return world.station_consent


def _scanned(world) -> list[str]:
    """The clerk scans the originals of citizen A's four newborn materials (real files)."""
    if getattr(world, "station_scans", None) is None:
        ws.load_catalogue()
        clerk, consent = _clerk(world), _consent(world)
        scans = []
        for n, material_type in enumerate(ws.NEWBORN_MATERIALS):
            material, _ = assisted.scan_original(
                clerk=clerk, consent=consent, type=material_type, filename=f"{material_type}.jpg",
                stream=io.BytesIO(files.jpeg(colour=(40 * n, 120, 60))))
            scans.append(str(material.id))
        world.station_scans = scans
    return world.station_scans


def _body(world) -> dict:
    return {"consent": _consent(world), "bundle": "newborn", "subject": {"kind": "newborn"},
            "form": ws.newborn_form(spouse_name="Spouse A",
                                    spouse_id_number=ws.baby_id_number(3)),
            "materials": _scanned(world), "originals_checked": list(ws.NEWBORN_MATERIALS)}


def _assisted_application(world) -> str:
    """An application the clerk made at their station for citizen A."""
    if getattr(world, "station_application", None) is None:
        application = assisted.apply_for_citizen(
            clerk=_clerk(world), idempotency_key=f"matrix-station-{next(_keys)}", **_body(world))
        world.station_application = str(application.id)
    return world.station_application


def _station_list(world, actor):
    _assisted_application(world)  # so the clerk's list has something in it
    return BASE


def _send_code(world, actor):
    return Call(f"{BASE}/consent", json={"phone": world.fresh_phone()})


def _verify(world, actor):
    # A genuine code for every actor: only the role decides who may turn it into a consent.
    phone = world.fresh_phone()
    code = otp.request_code(phone=phone, purpose=assisted.PURPOSE).debug_code
    return Call(f"{BASE}/consent/verify", json={"phone": phone, "code": code})


def _scan(world, actor):
    ws.load_catalogue()
    return Call(f"{BASE}/scans", content_type="multipart/form-data", data={
        "consent": _consent(world), "type": "household_register",
        "file": (io.BytesIO(files.pdf(pages=2)), "household-register.pdf", "application/pdf")})


def _apply(world, actor):
    ws.load_catalogue()
    return Call(BASE, json=_body(world),
                headers={"Idempotency-Key": f"matrix-station-call-{next(_keys)}"})


# Clerks only: citizens (the applicant included) use their own routes, officers their queue.
ENTRIES.update({
    "POST /api/v1/workbench/assisted-applications/consent": Entry(
        _send_code, staff_only(clerk=202, **OFFICERS_REFUSED)),
    "POST /api/v1/workbench/assisted-applications/consent/verify": Entry(
        _verify, staff_only(clerk=201, **OFFICERS_REFUSED)),
    "POST /api/v1/workbench/assisted-applications/scans": Entry(
        _scan, staff_only(clerk=201, **OFFICERS_REFUSED)),
    "POST /api/v1/workbench/assisted-applications": Entry(
        _apply, staff_only(clerk=201, **OFFICERS_REFUSED)),
    "GET /api/v1/workbench/assisted-applications": Entry(
        _station_list, staff_only(clerk=200, **OFFICERS_REFUSED)),
    "GET /api/v1/workbench/assisted-applications/<application_id>": Entry(
        lambda w, a: f"{BASE}/{_assisted_application(w)}",
        staff_only(clerk=200, **OFFICERS_REFUSED)),
})
