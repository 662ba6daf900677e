"""Life events partners report (a hospital: a birth): matched to citizens, offered, or kept."""
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from flask import current_app

from common import calendar, crypto, i18n
from models.base import DUPLICATE, utcnow
from models.offer import EventPerson, LifeEvent, Offer, OfferSource, OfferStatus
from models.user import Role, User
from services.catalogue import joint_form, publishing
from services.errors import NotFound, ValidationFailed
from services.identity import numbers
from services.offers import offers

log = logging.getLogger(__name__)


def _fact(name: str, kind: str, en: str, zh: str, required: bool = True, **spec) -> dict:
    return {"name": name, "type": kind, "labels": {"en": en, "zh-CN": zh},
            "required": required, **spec}


@dataclass(frozen=True)
class EventType:
    bundle: str  # the "one thing" the event starts
    roles: tuple[str, ...]  # who it is about: each matched citizen gets an offer
    subject: dict  # whom the application is about
    facts: list[dict] = field(default_factory=list)  # checked like joint-form answers


EVENT_TYPES = {
    "birth": EventType(
        bundle="newborn", roles=("mother", "father"), subject={"kind": "newborn"},
        facts=[
            _fact("newborn_name", "string", "Baby's name", "新生儿姓名"),
            _fact("newborn_gender", "choice", "Baby's sex", "新生儿性别",
                  choices=["male", "female"]),
            _fact("birth_hospital", "string", "Hospital", "出生医院"),
            _fact("birth_certificate_number", "string", "Birth medical certificate number",
                  "出生医学证明编号", required=False, pattern=r"^[A-Z]\d{9}$"),
            _fact("birth_weight_grams", "integer", "Birth weight (grams)", "出生体重（克）",
                  required=False, min=300, max=8000),
        ]),
    "marriage": EventType(bundle="marriage_childbearing", roles=("spouse",),
                          subject={"kind": "self"}),
}


def _problems(errors: dict, where: str, en: str, zh: str, **params) -> None:
    errors.setdefault(where, []).append(i18n.text(en, zh, **params))


def _check(payload: dict) -> tuple[EventType, str, dict, list[tuple[dict, str]]]:
    """The event's type, bundle, clean facts and people with their ID numbers, or one 422
    naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    kind = EVENT_TYPES.get(payload.get("type") or "")
    if kind is None:
        _problems(errors, "type", "Unknown event type; known: {t}.", "未知的事件类型，可选：{t}。",
                  t=", ".join(EVENT_TYPES))
    bundle = payload.get("bundle") or (kind.bundle if kind else None)
    if bundle:
        try:
            publishing.compiled_bundle(bundle)
        except NotFound:
            _problems(errors, "bundle", "No bundle {b}.", "没有一件事 {b}。", b=bundle)
    occurred = payload.get("occurred_at")
    if occurred is not None and _aware(occurred) > utcnow() + timedelta(minutes=5):
        _problems(errors, "occurred_at", "The event cannot be in the future.",
                  "事件发生时间不能晚于现在。")
    people = []
    for position, person in enumerate(payload.get("people") or []):
        if kind is not None and person.get("role") not in kind.roles:
            _problems(errors, f"people.{position}.role", "The role is one of: {r}.",
                      "角色应为以下之一：{r}。", r=", ".join(kind.roles))
        try:
            numbers.validate_id_number(person.get("id_number") or "")
        except ValidationFailed as exc:
            errors[f"people.{position}.id_number"] = [exc.message]
            continue
        people.append((person, crypto.normalize("id_number", person["id_number"])))
    facts: dict = {}
    if kind is not None:
        try:
            facts = joint_form.validate(kind.facts, payload.get("facts") or {}, key="facts")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed("The life event is not valid.", "生活事件信息有误。",
                               error="invalid_life_event", errors=errors)
    return kind, bundle, facts, people


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def report(*, partner_id: str, payload: dict) -> dict:
    """A partner reports a life event: each person it names who is a verified citizen gets an
    offer (unless they want none); the others' are kept, encrypted, until they sign up and
    verify, or until the offer's time is over. The same event_id again changes nothing and
    answers the same."""
    found = LifeEvent.objects(partner=str(partner_id), event_id=payload["event_id"]).first()
    if found is not None:
        return found.response
    kind, bundle, facts, people = _check(payload)
    now = utcnow()
    event = LifeEvent(
        id=ObjectId(), partner=str(partner_id), event_id=payload["event_id"], type=payload["type"],
        bundle=bundle, region=payload["region"], occurred_at=_aware(payload["occurred_at"]),
        facts_encrypted=crypto.encrypt(json.dumps(facts, ensure_ascii=False)),
        expires_at=now + timedelta(days=int(current_app.config["OFFER_TTL_DAYS"])),
        created_at=now, updated_at=now)
    indexes = [crypto.blind_index("id_number", number) for _, number in people]
    citizens = {u.id_number_index: u for u in User.objects(
        id_number_index__in=indexes, role=Role.CITIZEN.value, active=True).only(
        "id", "id_number_index", "proactive_offers")}
    for (person, number), index in zip(people, indexes, strict=True):
        citizen = citizens.get(index)
        event.people.append(EventPerson(
            role=person["role"], id_number_index=index,
            id_number_encrypted=crypto.encrypt(number),
            name_encrypted=crypto.encrypt(person["name"]),
            user=str(citizen.id) if citizen else None,
            opted_out=bool(citizen and citizen.proactive_offers is False)))
    offered = sum(1 for p in event.people if p.user and not p.opted_out)
    event.response = {"id": str(event.id), "offers": offered}
    try:
        event.save(force_insert=True)
    except DUPLICATE:  # the same event, reported twice at once: the first one answers
        return LifeEvent.objects.get(partner=str(partner_id),
                                     event_id=payload["event_id"]).response
    log.info("life event %s (%s) from partner %s: %d offer(s), %d kept", event.id, event.type,
             partner_id, offered, sum(1 for p in event.people if not p.user))
    offer_all(event)
    return event.response


def prefill(event: LifeEvent, person: EventPerson) -> dict:
    """What the event already says, as the joint form's answers for this person, and the
    facts shown beside them (a certificate number the form does not ask)."""
    facts = json.loads(crypto.decrypt(event.facts_encrypted)) if event.facts_encrypted else {}
    answers: dict = {}
    if event.type == "birth":
        local = calendar.current()
        born = event.occurred_at.astimezone(local.tz)
        answers = {**{k: v for k, v in facts.items() if k != "birth_certificate_number"},
                   "newborn_birth_date": born.date().isoformat(),
                   "newborn_birth_time": f"{born:%H:%M}", "relation_to_newborn": person.role}
        other = next((p for p in event.people if p is not person and p.role != person.role),
                     None)
        if other is not None:
            answers["spouse_name"] = crypto.decrypt(other.name_encrypted)
            answers["spouse_id_number"] = crypto.decrypt(other.id_number_encrypted)
    try:
        asked = {f["name"] for f in publishing.compiled_bundle(event.bundle)["form"]}
    except NotFound:
        asked = set()
    shown = {k: v for k, v in facts.items() if k not in answers}
    return {"form": {k: v for k, v in answers.items() if k in asked},
            "facts": {**shown, **{k: v for k, v in answers.items() if k not in asked}}}


def offer_to(event: LifeEvent, position: int) -> None:
    """The offer for one person of the event who is a citizen wanting offers, made once."""
    person = event.people[position]
    if not person.user or person.opted_out:
        return
    taken = Offer.objects(event=str(event.id), status=OfferStatus.ACCEPTED.value).first()
    if taken is not None:
        # The family applied already (the other parent): the person is covered by that offer.
        _record_offer(event, position, str(taken.id))
        return
    kind = EVENT_TYPES.get(event.type)
    made = offers.make_offer(
        citizen_id=person.user, key=f"event:{event.id}:{person.user}",
        source=OfferSource.LIFE_EVENT.value, bundle=event.bundle,
        subject=dict(kind.subject if kind else {"kind": "self"}),
        prefill=prefill(event, person), region=event.region, expires_at=event.expires_at,
        event=str(event.id))
    _record_offer(event, position, str(made.id))


def _record_offer(event: LifeEvent, position: int, offer: str) -> None:
    if event.people[position].offer != offer:
        LifeEvent._get_collection().update_one(
            {"_id": event.pk}, {"$set": {f"people.{position}.offer": offer}})
        event.people[position].offer = offer


def offer_all(event: LifeEvent) -> None:
    for position in range(len(event.people)):
        offer_to(event, position)
