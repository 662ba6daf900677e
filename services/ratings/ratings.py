"""A citizen rates a finished task or application (好差评); a rating of 2 or less opens a case."""
import logging
import uuid

from bson import ObjectId
from flask import current_app

from common import crypto, i18n
from common.regions import region_of
from models.application import FINISHED_APPLICATION_STATUSES, Application, TaskStatus
from models.base import DUPLICATE, utcnow
from models.rating import (
    RECTIFY_AT_OR_BELOW,
    WHOLE_APPLICATION,
    Rating,
    Rectification,
    RectificationStatus,
)
from services.errors import InvalidState, NotFound, ValidationFailed
from services.ratings import figures
from services.ratings import tags as rating_tags
from services.workflow import applications, deadlines
from services.workflow.applications import user_id_of

log = logging.getLogger(__name__)

FINISHED_TASK_STATUSES = (TaskStatus.COMPLETED.value, TaskStatus.REJECTED.value)
MAX_COMMENT = 500


def _own_application(application_id: str, citizen) -> Application:
    """The citizen's own application; anyone else's (a relative's included) is not found."""
    application = applications.get_for_citizen(application_id=application_id, citizen=citizen)
    if application.applicant != user_id_of(citizen):
        raise NotFound("No such application.", "未找到该办件。", error="application_not_found")
    return application


def lead_department(application: Application) -> str:
    """Who answers for the application as a whole: the department that refused it, else the
    department of its first step (where the citizen's case began)."""
    refused = next((t for t in application.tasks if t.status == TaskStatus.REJECTED), None)
    return (refused or application.tasks[0]).department


def _already_rated() -> InvalidState:
    return InvalidState("You have already rated this.", "您已评价过。", error="already_rated")


def _target(application: Application, task_id: str | None) -> tuple[str, object | None]:
    if task_id is None:
        if application.status not in FINISHED_APPLICATION_STATUSES:
            raise InvalidState("The application is not finished yet.",
                               "该办件尚未办结，暂不能评价。", error="application_not_finished")
        return WHOLE_APPLICATION, None
    task = application.task(str(task_id))
    if task is None:
        raise ValidationFailed("No such task in this application.", "该办件中没有此事项。",
                               error="task_not_found",
                               errors={"task": [i18n.text("No such task in this application.",
                                                          "该办件中没有此事项。")]})
    if task.status not in FINISHED_TASK_STATUSES:
        raise InvalidState("{m} is not finished yet.", "{m}尚未办结，暂不能评价。",
                           error="task_not_finished", m=i18n.pick(task.name) or task.matter)
    return task.id, task


def rate(*, application_id: str, citizen, score: int, tags: list[str] | None = None,
         task: str | None = None, comment: str | None = None) -> Rating:
    """The applicant rates a completed or rejected task, or the finished application: once,
    and once more after the rectification of a low rating is resolved."""
    chosen = rating_tags.check_tags(tags)
    if score not in rating_tags.SCORES:
        raise ValidationFailed(errors={"score": [i18n.text("A score is 1 to 5.",
                                                           "评分为 1 至 5。")]})
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    application = _own_application(application_id, citizen)
    target, done = _target(application, task)
    earlier = list(Rating.objects(application=str(application.id), target=target)
                   .order_by("round"))
    if not earlier:
        round_, replaces = 1, None
    elif (len(earlier) == 1 and earlier[0].rectification is not None
          and earlier[0].rectification.status == RectificationStatus.RESOLVED):
        round_, replaces = 2, earlier[0]
    else:
        raise _already_rated()
    department = done.department if done is not None else lead_department(application)
    region = region_of(done, application)
    now = utcnow()
    # The id is chosen here: a driver's retry of the insert meets its own first attempt as a
    # duplicate of this id, which a twin request's rating never is.
    rating = Rating(
        id=ObjectId(), application=str(application.id), applicant=application.applicant,
        bundle=application.bundle, target=target, task=done.id if done else None,
        matter=done.matter if done else None, department=department, region=region,
        round=round_, replaces=str(replaces.id) if replaces else None, score=score, tags=chosen,
        comment_encrypted=crypto.encrypt(comment) if comment else None, created_at=now)
    if score <= RECTIFY_AT_OR_BELOW:
        days = int(current_app.config["RECTIFICATION_DUE_WORKING_DAYS"])
        rating.rectification = Rectification(
            id=uuid.uuid4().hex, status=RectificationStatus.OPEN.value, department=department,
            region=region, opened_at=now,
            due_at=deadlines.due_at(start=now, limit={"value": days, "unit": "working_days"}))
    try:
        rating.save(force_insert=True)
    except DUPLICATE:
        if not Rating.objects(id=rating.id).only("id").first():
            raise _already_rated() from None  # a twin request rated the same thing first
    log.info("rating %s of %s (round %d, score %d)", rating.id, target, round_, score)
    figures.count(rating, replaces)
    return rating


def comment_of(rating: Rating) -> str | None:
    return crypto.decrypt(rating.comment_encrypted) if rating.comment_encrypted else None


def may_rate_again(rating: Rating, ratings: list[Rating]) -> bool:
    """A first rating whose rectification is resolved may be followed by one more."""
    return (rating.round == 1 and rating.rectification is not None
            and rating.rectification.status == RectificationStatus.RESOLVED
            and not any(r.target == rating.target and r.round == 2 for r in ratings))


def _named(code: str | None, names: dict | None) -> dict | None:
    return {"code": code, "name": i18n.pick(names) or code} if code else None


def _text_view(record: dict | None) -> dict | None:
    return {"text": record.get("text"), "at": record.get("at")} if record else None


def case_summary(rating: Rating) -> dict | None:
    """The rectification as the citizen sees it: no officer named."""
    case = rating.rectification
    if case is None:
        return None
    return {"id": case.id, "status": case.status, "due_at": case.due_at,
            "overdue": bool(case.overdue), "reply": _text_view(case.reply),
            "resolution": _text_view(case.resolution)}


def view(rating: Rating, *, application: Application | None = None,
         siblings: list[Rating] | None = None) -> dict:
    """A rating as the citizen who gave it sees it, in their language."""
    if application is None:
        application = Application.objects(id=rating.application).only("tasks").first()
    tasks = list(application.tasks) if application is not None else []
    task = next((t for t in tasks if t.id == rating.task), None)
    department_task = task or next((t for t in tasks if t.department == rating.department), None)
    siblings = siblings if siblings is not None else list(
        Rating.objects(application=rating.application, target=rating.target))
    return {
        "id": str(rating.id), "application": rating.application, "task": rating.task,
        "matter": _named(rating.matter, task.name if task else None),
        "department": _named(rating.department,
                             department_task.department_name if department_task else None),
        "round": rating.round, "score": rating.score,
        "score_label": rating_tags.score_label(rating.score),
        "tags": [rating_tags.tag_view(t) for t in rating.tags if t in rating_tags.TAGS],
        "comment": comment_of(rating), "created_at": rating.created_at,
        "rectification": case_summary(rating),
        "may_rate_again": may_rate_again(rating, siblings),
    }


def citizen_ratings(*, application_id: str, citizen) -> list[dict]:
    """The citizen's ratings of their application, oldest first, each with its rectification
    and the department's words."""
    application = _own_application(application_id, citizen)
    found = list(Rating.objects(application=str(application.id)).order_by("created_at"))
    return [view(r, application=application, siblings=found) for r in found]
