"""Offers: made once per reason, told to the citizen (inbox, push), accepted in one call."""
import hashlib
import json
import logging
from datetime import datetime, timedelta

from bson import ObjectId

from common import crypto, i18n
from models.application import Application
from models.base import DUPLICATE, utcnow
from models.notification import NotificationType
from models.offer import Offer, OfferStatus
from notifications import relay
from services.catalogue import joint_form, publishing
from services.errors import InvalidState, NotFound, ValidationFailed
from services.materials import vault
from services.workflow import idempotency, submission
from services.workflow.applications import user_id_of

log = logging.getLogger(__name__)


def id_for(key: str) -> ObjectId:
    """An offer's id follows from what it is for: making it twice makes it once."""
    return ObjectId(hashlib.sha256(f"offer:{key}".encode()).digest()[:12])


def _intent(offer: Offer, now: datetime) -> dict:
    """The notification of an offer, for the notifications relay (inbox, push): catalogue names
    only, never what the prefill holds."""
    return {"id": hashlib.sha256(f"offer-made:{offer.id}".encode()).hexdigest()[:32],
            "type": NotificationType.OFFER_MADE.value, "at": now, "recipient": offer.citizen,
            "application": None, "bundle": offer.bundle, "task": None, "matter": None,
            "department": None, "data": {"offer": str(offer.id), "source": offer.source}}


def notify(offer: Offer) -> None:
    """Hand the offer's notification to the relay (stored once, whatever the retries), then
    remember it was handed over; the sweep hands over what a dead process did not."""
    relay.store(_intent(offer, offer.created_at or utcnow()))
    Offer.objects(id=offer.id, notified=False).update(set__notified=True)
    offer.notified = True


def make_offer(*, citizen_id: str, key: str, source: str, bundle: str, subject: dict,
               prefill: dict, region: str, expires_at: datetime,
               event: str | None = None) -> Offer:
    """The offer for this reason (`key`), made and told once however often it is asked for."""
    now = utcnow()
    offer = Offer(id=id_for(key), citizen=str(citizen_id), key=key, source=source,
                  event=event, bundle=bundle, subject=subject, region=region,
                  prefill_encrypted=crypto.encrypt(json.dumps(prefill, ensure_ascii=False)),
                  status=OfferStatus.OPEN.value, expires_at=expires_at, created_at=now,
                  updated_at=now)
    try:
        offer.save(force_insert=True)
    except DUPLICATE:
        offer = Offer.objects.get(id=offer.id)
    else:
        log.info("offer %s of %s made (%s)", offer.id, bundle, source)
    if not offer.notified:
        notify(offer)
    return offer


def prefill_of(offer: Offer) -> dict:
    """{"form": answers for the joint form, "facts": what is shown besides (certificate
    numbers)}."""
    if not offer.prefill_encrypted:
        return {"form": {}, "facts": {}}
    found = json.loads(crypto.decrypt(offer.prefill_encrypted))
    return {"form": dict(found.get("form") or {}), "facts": dict(found.get("facts") or {})}


def status_of(offer: Offer, now: datetime | None = None) -> str:
    """An open offer past its time is expired, even before the sweep says so."""
    if offer.status == OfferStatus.OPEN and offer.expires_at <= (now or utcnow()):
        return OfferStatus.EXPIRED.value
    return offer.status


def _not_found() -> NotFound:
    return NotFound("No such offer.", "未找到该服务推荐。", error="offer_not_found")


def get_own(*, offer_id: str, citizen) -> Offer:
    offer = (Offer.objects(id=offer_id, citizen=user_id_of(citizen)).first()
             if ObjectId.is_valid(str(offer_id)) else None)
    if offer is None:
        raise _not_found()
    return offer


def list_for_citizen(*, citizen, status: str | None = None) -> list[Offer]:
    """The citizen's offers, newest first (by the status they have now)."""
    found = Offer.objects(citizen=user_id_of(citizen)).order_by("-created_at")
    now = utcnow()
    return [o for o in found if status is None or status_of(o, now) == status]


def view(offer: Offer) -> dict:
    """An offer as its citizen sees it, in their language: personal numbers masked, the
    checklist split into what is on file and what is still needed."""
    try:
        definition = publishing.compiled_bundle(offer.bundle)
    except NotFound:
        definition = None
    prefill = prefill_of(offer)
    types = {f["name"]: f.get("type") for f in (definition or {}).get("form", [])}
    shown = {name: joint_form.mask(types.get(name), value) if isinstance(value, str) else value
             for name, value in {**prefill["form"], **prefill["facts"]}.items()}
    on_file_view, needed = [], []
    if definition is not None:
        wanted = publishing.materials_to_give(definition)
        subject = offer.subject or {}
        on_file = (vault.on_file(owner_id=offer.citizen, types=[m["code"] for m in wanted],
                                 subject_id=subject.get("id"))
                   if status_of(offer) == OfferStatus.OPEN else {})
        for material in wanted:
            entry = {"type": material["code"], "name": material.get("name") or material["code"]}
            if material["code"] in on_file:
                on_file_view.append({**entry, "material": on_file[material["code"]]})
            else:
                needed.append(entry)
    return {
        "id": str(offer.id), "bundle": offer.bundle,
        "bundle_name": (definition or {}).get("name") or offer.bundle, "source": offer.source,
        "status": status_of(offer), "reason": offer.reason, "subject": offer.subject or {},
        "prefill": shown, "materials_on_file": on_file_view, "materials_needed": needed,
        "expires_at": offer.expires_at, "created_at": offer.created_at,
        "decided_at": offer.decided_at, "application": offer.application,
    }


def _closed(offer: Offer) -> InvalidState:
    if status_of(offer) == OfferStatus.DECLINED:
        return InvalidState("You declined this offer.", "您已谢绝该服务推荐。",
                            error="offer_declined")
    return InvalidState("This offer has expired.", "该服务推荐已过期。", error="offer_expired")


def _application_key(offer: Offer) -> str:
    # Every accept of one offer names the same application, whatever key each tap sends.
    return f"offer-{offer.id}"


def _made_by(offer: Offer) -> Application | None:
    return Application.objects(
        idempotency_key=f"{offer.citizen}:{_application_key(offer)}").first()


def accept(*, offer_id: str, citizen, idempotency_key: str, form: dict | None = None,
           materials: list[str] | None = None, render=None) -> Application:
    """The application the offer stands for, made in one call with the prefill under what the
    citizen adds; every further accept (a retry, a second tap) answers that same application."""
    idempotency.check_key(idempotency_key)
    offer = get_own(offer_id=offer_id, citizen=citizen)
    if offer.status == OfferStatus.ACCEPTED and offer.application:
        return Application.objects.get(id=offer.application)
    made = _made_by(offer)  # accepted, but the process died before the offer said so
    if made is None and status_of(offer) != OfferStatus.OPEN:
        raise _closed(offer)
    if made is None:
        prefill = prefill_of(offer)["form"]
        try:
            made = submission.submit_application(
                applicant_id=offer.citizen, bundle=offer.bundle, subject=offer.subject,
                form={**prefill, **(form or {})}, materials=list(materials or []),
                idempotency_key=_application_key(offer), render=render)
        except ValidationFailed as exc:
            # A concurrent accept with other answers made it first: that is the application.
            made = _made_by(offer) if exc.error == "idempotency_key_reused" else None
            if made is None:
                raise
    now = utcnow()
    Offer.objects(id=offer.id, status__in=[OfferStatus.OPEN.value, OfferStatus.EXPIRED.value]
                  ).update(set__status=OfferStatus.ACCEPTED.value, set__application=str(made.id),
                           set__decided_at=now, set__updated_at=now)
    if offer.event:
        # The other parent's offer for the same birth: one application is enough.
        Offer.objects(event=offer.event, id__ne=offer.id, status=OfferStatus.OPEN.value).update(
            set__status=OfferStatus.EXPIRED.value, set__reason="accepted_by_family",
            set__decided_at=now, set__updated_at=now)
    return made


def decline(*, offer_id: str, citizen) -> None:
    """No, thank you: an open offer is declined (again, or once expired, changes nothing)."""
    offer = get_own(offer_id=offer_id, citizen=citizen)
    if offer.status == OfferStatus.ACCEPTED:
        raise InvalidState("You already accepted this offer.", "您已接受该服务推荐。",
                           error="offer_accepted")
    now = utcnow()
    Offer.objects(id=offer.id, status=OfferStatus.OPEN.value, expires_at__gt=now).update(
        set__status=OfferStatus.DECLINED.value, set__decided_at=now, set__updated_at=now)


def expire_due(*, now: datetime | None = None) -> int:
    """Open offers past their time become expired; one update, safe in many processes."""
    now = now or utcnow()
    return Offer.objects(status=OfferStatus.OPEN.value, expires_at__lte=now).update(
        set__status=OfferStatus.EXPIRED.value, set__reason="expired", set__updated_at=now)


def notify_pending(*, now: datetime | None = None, grace: float = 60.0,
                   limit: int = 200) -> int:
    """Hand over the notifications a dead process did not (the relay stores each once)."""
    before = (now or utcnow()) - timedelta(seconds=grace)
    found = list(Offer.objects(notified=False, created_at__lt=before).limit(limit))
    for offer in found:
        notify(offer)
    return len(found)


def field_problem(field: str, en: str, zh: str, **params) -> ValidationFailed:
    """A 422 naming one field, in both languages."""
    return ValidationFailed("Some fields are not valid.", "部分字段无效。",
                            errors={field: [i18n.text(en, zh, **params)]})
