"""Assisted handling: a station clerk applies for a citizen who is present and consents by SMS code.

The citizen reads the texted code to the clerk. The clerk enters it either with the application
itself, or first, to receive a consent that lasts STATION_CONSENT_TTL seconds and also lets the
clerk scan the originals into the citizen's vault. The application is the citizen's own (it shows
up in their app); its timeline says it was made at the station and which originals the clerk
checked. A clerk sees only their station's applications.
"""
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from bson import ObjectId
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from common import crypto, i18n
from models.application import Application
from models.material import Material
from models.user import User
from services.catalogue import publishing
from services.errors import Forbidden, NotFound, PreconditionRequired, ValidationFailed
from services.identity import citizens, numbers, otp
from services.identity.tokens import Principal
from services.materials import uploads
from services.workflow import events, idempotency, submission
from services.workflow.applications import subject_name

log = logging.getLogger(__name__)

PURPOSE = "station_consent"
SCOPE = "assisted_applications"
CONSENT_SALT = "station-consent"
# How the timeline tells the citizen about the clerk's check.


def _station_of(clerk: Principal) -> str:
    if not clerk.station:
        raise Forbidden("Your account belongs to no service station.", "您的账号未关联服务站。",
                        error="no_station")
    return clerk.station


def send_consent_code(*, clerk: Principal, phone: str, client_ip: str | None) -> otp.SentCode:
    """Text the citizen a code; they read it to the clerk as their consent."""
    _station_of(clerk)
    return otp.request_code(phone=phone, purpose=PURPOSE, client_ip=client_ip)


@dataclass(frozen=True)
class Consent:
    token: str
    expires_in: int
    citizen_id: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONSENT_SALT)


def _consenting_citizen(*, phone: str, code: str) -> User:
    """The citizen whose code this is (their account is created if they have none yet)."""
    otp.verify_code(phone=phone, purpose=PURPOSE, code=code)
    return citizens.find_or_create_citizen(phone=phone)


def verify_consent(*, clerk: Principal, phone: str, code: str) -> Consent:
    """The citizen's code, entered by the clerk, becomes a consent for this clerk and station."""
    station = _station_of(clerk)
    citizen = _consenting_citizen(phone=phone, code=code)
    token = _serializer().dumps({"u": str(citizen.id), "c": str(clerk.id), "s": station})
    return Consent(token=token, expires_in=int(current_app.config["STATION_CONSENT_TTL"]),
                   citizen_id=str(citizen.id))


def _consent_refused() -> Forbidden:
    return Forbidden("The citizen's consent is missing, expired or not yours; ask for a new code.",
                     "居民授权无效或已过期，请重新获取验证码。", error="consent_invalid")


def citizen_of_consent(*, clerk: Principal, consent: str) -> str:
    """The citizen id a consent names, if it was given to this clerk at this station, in time."""
    station = _station_of(clerk)
    try:
        data = _serializer().loads(consent or "",
                                   max_age=int(current_app.config["STATION_CONSENT_TTL"]))
    except (SignatureExpired, BadSignature):
        raise _consent_refused() from None
    if not isinstance(data, dict) or data.get("c") != str(clerk.id) or data.get("s") != station:
        raise _consent_refused()
    return str(data["u"])


def scan_original(*, clerk: Principal, consent: str, type: str, stream: BinaryIO,
                  filename: str | None = None) -> tuple[Material, bool]:
    """Keep the clerk's scan of an original in the consenting citizen's vault."""
    citizen_id = citizen_of_consent(clerk=clerk, consent=consent)
    material, created = uploads.store_upload(owner_id=citizen_id, type_code=type, stream=stream,
                                             filename=filename)
    if created:
        log.info("station %s scanned a %s into a citizen's vault (material %s)", clerk.station,
                 type, material.id)
    return material, created


def _check_originals(bundle: str, originals: Iterable[str]) -> list[str]:
    originals = list(dict.fromkeys(originals or []))
    checklist = {m["code"] for m in publishing.compiled_bundle(bundle).get("materials", [])}
    unknown = [code for code in originals if code not in checklist]
    if unknown:
        raise ValidationFailed(
            "Not on this application's checklist: {codes}.", "不在本事项的材料清单中：{codes}。",
            error="unknown_material_type", codes=", ".join(unknown),
            errors={"originals_checked": [f"Not on the checklist: {', '.join(unknown)}."]})
    return originals


def _record_originals(application: Application, clerk: Principal, originals: list[str],
                      station: str) -> Application:
    """The clerk's check of the originals goes on the timeline, next to the application."""
    now = datetime.now(UTC)
    event = events.event("originals_checked", at=now, actor_role="clerk", actor=clerk.id,
                         data={"materials": originals, "station": station})
    Application.objects(id=application.id).update_one(
        __raw__={"$push": {"events": event}, "$set": {"updated_at": now}, "$inc": {"version": 1}})
    application.reload()
    return application


def apply_for_citizen(*, clerk: Principal, idempotency_key: str | None, bundle: str,
                      subject: dict | None, form: dict | None, materials: list[str] | None,
                      originals_checked: list[str] | None, phone: str | None = None,
                      code: str | None = None, consent: str | None = None) -> Application:
    """Apply on behalf of the consenting citizen (a consent, or their phone and code); a retry
    with the same Idempotency-Key answers the same application."""

    station = _station_of(clerk)
    if not idempotency_key:
        raise PreconditionRequired("The Idempotency-Key header is required.",
                                   "缺少 Idempotency-Key 请求头。",
                                   error="idempotency_key_required")
    key = idempotency.check_key(idempotency_key)
    if not consent and not (phone and code):
        message = i18n.text("Give the citizen's consent, or their phone and code.",
                            "请提供居民授权，或手机号和验证码。")
        raise ValidationFailed(errors={"consent": [message]})
    if phone:
        phone = numbers.normalize_phone(phone)
    citizen_id = citizen_of_consent(clerk=clerk, consent=consent) if consent else None
    originals = _check_originals(bundle, originals_checked or [])
    request = {"citizen": citizen_id, "phone": crypto.blind_index("phone", phone or ""),
               "code": None if consent else code, "bundle": bundle, "subject": subject,
               "form": form, "materials": materials, "originals_checked": originals}
    claimed = idempotency.claim(owner=str(clerk.id), scope=SCOPE, key=key,
                                request_fingerprint=idempotency.fingerprint(request))
    if not claimed.fresh:
        return get_for_station(clerk=clerk, application_id=claimed.record.resource)
    try:
        if citizen_id is None:
            citizen_id = str(_consenting_citizen(phone=phone, code=code).id)
        # Made where the station is: the clerk's region (else the citizen's, else the default).
        application = submission.submit_application(
            applicant_id=citizen_id, bundle=bundle, subject=subject or {},
            form=form or {}, materials=materials or [], idempotency_key=key,
            channel="station", station=station, clerk_id=str(clerk.id),
            region=clerk.region or None)
    except BaseException:
        idempotency.release(claimed)
        raise
    idempotency.finish(claimed, resource=str(application.id))
    log.info("station %s applied for %s (application %s)", station, bundle, application.id)
    if originals:
        application = _record_originals(application, clerk, originals, station)
    return application


def list_for_station(*, clerk: Principal, offset: int = 0,
                     limit: int = 20) -> tuple[list[Application], int]:
    """The applications made at the clerk's station, newest first, and how many there are."""
    found = Application.objects(station=_station_of(clerk), channel="station")
    return list(found.order_by("-created_at").skip(offset).limit(limit)), found.count()


def get_for_station(*, clerk: Principal, application_id: str) -> Application:
    """One application made at the clerk's station; any other looks exactly like a missing one."""
    station = _station_of(clerk)
    application = (Application.objects(id=application_id, station=station,
                                       channel="station").first()
                   if ObjectId.is_valid(application_id) else None)
    if application is None:
        raise NotFound("Application not found.", "未找到该申请。", error="application_not_found")
    return application


def originals_checked(application: Application) -> list[str]:
    """The material types whose originals the clerk checked, from the timeline."""
    for event in application.events or []:
        if event.get("type") == "originals_checked":
            return list((event.get("data") or {}).get("materials") or [])
    return []


def masked_phones(applications: Iterable[Application]) -> dict[str, str | None]:
    """Each applicant's phone, masked, for the clerk to tell applications apart (one query)."""
    ids = {a.applicant for a in applications if ObjectId.is_valid(a.applicant)}
    return {str(user.id): crypto.mask_phone(citizens.phone_of(user))
            for user in User.objects(id__in=list(ids)).only("id", "phone_encrypted")}


def describe(applications: list[Application]) -> list[dict]:
    """What a clerk may see: progress, the citizen's masked phone; never outputs or ID numbers."""
    phones = masked_phones(applications)
    return [{
        "id": str(a.id), "bundle": a.bundle,
        "bundle_name": i18n.pick(a.bundle_name) or a.bundle, "status": a.status,
        "channel": a.channel, "station": a.station, "region": a.region,
        "citizen_phone": phones.get(a.applicant),
        "subject_name": subject_name(a), "originals_checked": originals_checked(a),
        "tasks": [{"id": t.id, "matter": t.matter, "matter_name": i18n.pick(t.name) or t.matter,
                   "department": t.department,
                   "department_name": i18n.pick(t.department_name) or t.department,
                   "region": t.region, "status": t.status, "due_at": t.due_at}
                  for t in a.tasks],
        "eta": a.eta, "created_at": a.created_at,
    } for a in applications]
