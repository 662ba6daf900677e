"""Rectification (整改): a department answers a low rating, in its region, and resolves it.

A reply is one conditional write on the rating: the case's new status, the text, and the
notification intent it causes, together. The intent is then forwarded into the application's
outbox, where the notifications relay takes it as it takes the workflow's (inbox, push); a
forward cut short is finished by the sweep, and the relay stores an intent once however often
it is forwarded.
"""
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

from bson import ObjectId
from flask import current_app

from common import i18n
from common.masking import mask_private
from common.regions import region_of
from models import indexed_writes
from models.application import Application
from models.base import utcnow
from models.catalogue import Matter
from models.notification import NotificationType
from models.rating import Rating, RectificationStatus
from services.errors import InvalidState, NotFound, ValidationFailed
from services.ratings import tags as rating_tags
from services.ratings.ratings import comment_of
from services.workflow import events
from services.workflow.applications import user_id_of

log = logging.getLogger(__name__)

MAX_TEXT = 1000
ACTIVE = (RectificationStatus.OPEN.value, RectificationStatus.REPLIED.value)


def _fence(officer) -> dict:
    """An officer's cases: their department's, in their region."""
    return {"rectification.department": officer.department or "",
            "rectification.region": region_of(officer)}


def list_for_officer(*, officer, status: str | None = None, page: int = 1,
                     page_size: int = 20) -> tuple[list[Rating], int]:
    """One page of the department's cases in its region, the soonest due first."""
    if not officer.department:
        return [], 0
    condition = {**_fence(officer), **({"rectification.status": status} if status else {})}
    if status == RectificationStatus.RESOLVED:
        # Those of the last RECTIFICATIONS_RESOLVED_DAYS, on their own index: every case the
        # department ever resolved was read to count and sort them.
        condition["rectification.resolution.at"] = {"$gte": resolved_since()}
    query = Rating.objects(__raw__=condition)
    total = query.count()
    found = list(query.order_by("rectification.due_at", "created_at")
                 .skip((page - 1) * page_size).limit(page_size))
    return found, total


def resolved_since(now: datetime | None = None) -> datetime:
    """The earliest resolution of a resolved case the workbench lists."""
    return (now or utcnow()) - timedelta(days=current_app.config["RECTIFICATIONS_RESOLVED_DAYS"])


def masked_comment(rating: Rating) -> str | None:
    """The citizen's comment as an officer reads it: ID, phone and account numbers masked."""
    comment = comment_of(rating)
    return mask_private(comment) if comment else None


def _text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(errors={"text": [i18n.text("Please write the text.",
                                                          "请填写内容。")]})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(errors={"text": [i18n.text(
            "At most {n} characters.", "最多 {n} 个字符。", n=MAX_TEXT)]})
    return text


def _not_found() -> NotFound:
    return NotFound("No such rectification case.", "未找到该整改事项。",
                    error="rectification_not_found")


def _case(case_id: str, officer) -> Rating:
    rating = Rating.objects(__raw__={"rectification.id": str(case_id), **_fence(officer)}).first()
    if rating is None or not officer.department:
        raise _not_found()
    return rating


def _move(case_id: str, officer, *, expected: str, to: str, record: str, text: str,
          kind: NotificationType) -> Rating:
    """One conditional write: the case moves from `expected` to `to` with its text and the
    intent telling the citizen; then the intent goes on to the application's outbox."""
    rating = _case(case_id, officer)
    now = utcnow()
    target = SimpleNamespace(id=rating.application, bundle=rating.bundle)
    intent = events.intent(kind.value, at=now, application=target, recipient=rating.applicant,
                           task={"id": rating.task, "matter": rating.matter,
                                 "department": rating.rectification.department},
                           data={"rating": str(rating.id), "rectification": str(case_id),
                                 "text": text})
    raw = indexed_writes.update_and_read(
        Rating._get_collection(),
        {"_id": rating.pk, "rectification.id": str(case_id), "rectification.status": expected},
        {"$set": {"rectification.status": to,
                  f"rectification.{record}": {"text": text, "at": now,
                                              "by": user_id_of(officer)},
                  "updated_at": now},
         "$push": {"outbox": intent}})
    if raw is None:
        # A driver's retry of a write that was stored meets the case moved already: this
        # request's own words and time in it are the first attempt's, answered as then.
        raw = Rating._get_collection().find_one({
            "_id": rating.pk, "rectification.id": str(case_id),
            f"rectification.{record}.text": text, f"rectification.{record}.at": now,
            f"rectification.{record}.by": user_id_of(officer)})
    if raw is None:
        current = _case(case_id, officer).rectification.status
        if current == RectificationStatus.OPEN:
            raise InvalidState("Reply to the citizen first.", "请先答复群众。",
                               error="rectification_not_replied")
        raise InvalidState("The case is already {s}.", "该整改事项已是{s}状态。",
                           error="rectification_not_open", s=current)
    updated = Rating._from_son(raw)
    forward(updated)
    log.info("rectification %s %s", case_id, to)
    return updated


def reply(*, case_id: str, officer, text: str) -> Rating:
    """The department answers the citizen (open → replied); the citizen is told in their inbox
    and by push, in their language."""
    return _move(case_id, officer, expected=RectificationStatus.OPEN.value,
                 to=RectificationStatus.REPLIED.value, record="reply", text=_text(text),
                 kind=NotificationType.RECTIFICATION_REPLIED)


def resolve(*, case_id: str, officer, text: str) -> Rating:
    """The department closes the case with what it changed (replied → resolved); the citizen
    is told and may rate once more."""
    return _move(case_id, officer, expected=RectificationStatus.REPLIED.value,
                 to=RectificationStatus.RESOLVED.value, record="resolution", text=_text(text),
                 kind=NotificationType.RECTIFICATION_RESOLVED)


def forward(rating: Rating) -> int:
    """Move the rating's intents into its application's outbox (the relay stores an intent
    once, however often it arrives), then take them off the rating."""
    intents = list(rating.outbox or [])
    if not intents:
        return 0
    ids = [i["id"] for i in intents]
    if ObjectId.is_valid(rating.application):
        Application._get_collection().update_one(
            {"_id": ObjectId(rating.application), "outbox.id": {"$nin": ids}},
            {"$push": {"outbox": {"$each": intents}}, "$set": {"outbox_pending": True}})
    Rating._get_collection().update_one({"_id": rating.pk},
                                        {"$pull": {"outbox": {"id": {"$in": ids}}}})
    return len(intents)


def forward_pending(*, now: datetime | None = None, grace: float = 60.0,
                    limit: int = 200) -> int:
    """Finish the forwards a dead process left (safe in many processes)."""
    before = (now or utcnow()) - timedelta(seconds=grace)
    found = Rating.objects(__raw__={"outbox.id": {"$exists": True},
                                    "updated_at": {"$lt": before}}).limit(limit)
    return sum(forward(rating) for rating in found)


def mark_overdue(*, now: datetime | None = None) -> int:
    """Flag every case not resolved by its due time; one update, safe in many processes."""
    now = now or utcnow()
    marked = Rating._get_collection().update_many(
        {"rectification.status": {"$in": list(ACTIVE)}, "rectification.due_at": {"$lt": now},
         "rectification.overdue": {"$ne": True}},
        {"$set": {"rectification.overdue": True, "updated_at": now}}).modified_count
    if marked:
        log.info("%d rectification case(s) overdue", marked)
    return marked


def case_view(rating: Rating, matter_names: dict | None = None) -> dict:
    """A case as the department's officers read it: the rating and its comment with personal
    numbers masked; never who the citizen is."""
    case = rating.rectification
    names = (matter_names or {}).get(rating.matter) if rating.matter else None
    return {
        "id": case.id, "status": case.status, "due_at": case.due_at,
        "overdue": bool(case.overdue), "opened_at": case.opened_at,
        "department": case.department, "region": case.region,
        "application": rating.application, "bundle": rating.bundle, "task": rating.task,
        "matter": ({"code": rating.matter, "name": i18n.pick(names) or rating.matter}
                   if rating.matter else None),
        "score": rating.score, "score_label": rating_tags.score_label(rating.score),
        "tags": [rating_tags.tag_view(t) for t in rating.tags if t in rating_tags.TAGS],
        "comment": masked_comment(rating),
        "reply": {"text": case.reply.get("text"), "at": case.reply.get("at")}
        if case.reply else None,
        "resolution": {"text": case.resolution.get("text"), "at": case.resolution.get("at")}
        if case.resolution else None,
    }


def matter_names(ratings: list[Rating]) -> dict[str, dict]:
    codes = sorted({r.matter for r in ratings if r.matter})
    if not codes:
        return {}
    return {row["code"]: row.get("name") or {} for row in Matter._get_collection().find(
        {"code": {"$in": codes}}, {"code": 1, "name": 1})}


def officer_cases(*, officer, status: str | None = None, page: int = 1,
                  page_size: int = 20) -> tuple[list[dict], int]:
    """One page of the officer's cases as they read them, and how many there are."""
    found, total = list_for_officer(officer=officer, status=status, page=page,
                                    page_size=page_size)
    names = matter_names(found)
    return [case_view(r, names) for r in found], total
