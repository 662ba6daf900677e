"""Applications: apply once for a life event, follow it, answer a supplement, withdraw."""
import functools

from flask import jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.paging import MAX_PAGE_SIZE, PAGE_SIZE, one_page
from api.rate_limits import per_citizen
from api.schemas.applications import (
    ApplicationCreateSchema,
    ApplicationQueryArgsSchema,
    ApplicationSchema,
    SupplementAnswerSchema,
    TimelineEventSchema,
)
from api.schemas.errors import documented
from models.user import Role
from services.errors import PreconditionRequired
from services.workflow import applications, submission, supplements

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications",
                description="One application per life event, fanned out to every department")

SUBJECT_DESCRIPTION = (
    "`subject` is whom the application is about: `{\"kind\": \"self\"}` (the applicant), "
    "`{\"kind\": \"family\", \"id\"}` (a family member from `GET /me/family`), or "
    "`{\"kind\": \"newborn\"}` (a child not yet registered, made a family member from the "
    "joint form). Left out, it is the bundle's natural subject (`subject` of "
    "`GET /bundles/{code}`): the newborn for `newborn`, the applicant otherwise.\n\n"
    "The answer is the application with a task per matter (those without dependencies already "
    "`pending`) and its `eta`. 申请对象 `subject` 省略时取该一件事的默认对象："
    "新生儿一件事为新生儿，其余为申请人本人。")

IDEMPOTENCY_HEADER = {
    "in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"},
    "description": "Any unique string per intended application (a UUID): a retry with the same "
                   "key and body gets the first answer again; with another body, 422.",
}


def idempotency_key_required(view):
    """428 before anything else when the Idempotency-Key header is missing."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not request.headers.get("Idempotency-Key"):
            raise PreconditionRequired(
                "The Idempotency-Key header is required.", "缺少 Idempotency-Key 请求头。",
                error="idempotency_key_required")
        return view(*args, **kwargs)
    return wrapper


# One instance for every answer: building the schema (its nested fields deep-copied) cost as
# much of the API's CPU as dumping with it. So for the bodies read: given a class, webargs
# builds an instance on every request.
FIRST_ANSWER = ApplicationSchema()


def render_first_answer(application) -> dict:
    """The answer to the request that made the application, kept on it for its retries."""
    return FIRST_ANSWER.dump(applications.citizen_view(application))


class FirstAnswer:
    """The `render` of a submission: renders the first answer and keeps it, so that the request
    that made the application answers without opening the sealed copy it just stored."""

    def __init__(self):
        self.rendered: dict = {}

    def __call__(self, application) -> dict:
        self.rendered[application.id] = render_first_answer(application)
        return self.rendered[application.id]

    def created(self, made):
        """201 with the first answer, exactly (a retry or a concurrent twin gets it again).
        `made`: what submission.submit made, or an application."""
        body = self.rendered.get(made.id)
        if body is None:
            application = made.application() if isinstance(made, submission.Made) else made
            body = applications.first_answer(application) or render_first_answer(application)
        response = jsonify(body)
        response.status_code = 201
        response.headers["Location"] = url_for("applications.ApplicationById",
                                               application_id=body["id"])
        return response


@blp.route("")
class Applications(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(ApplicationQueryArgsSchema(), location="query")
    @blp.response(200, ApplicationSchema(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, args, pagination_parameters):
        """My applications and my minor children's, newest first, a page at a time"""
        found = one_page(applications.for_citizen(citizen=current_user(), **args),
                         pagination_parameters)
        return [applications.citizen_view(a) for a in found]

    @auth_required(role=Role.CITIZEN)
    @per_citizen(blp, "applications")
    @idempotency_key_required
    @blp.arguments(ApplicationCreateSchema())
    @blp.response(201, ApplicationSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER], description=SUBJECT_DESCRIPTION)
    @documented(blp, 409, "application_already_open",
                "You already have an open application for this.",
                description="An open application for this bundle and subject exists "
                            "(`application_already_open`), or the first request with this key is "
                            "still running (`idempotency_request_in_progress`)")
    def post(self, payload):
        """Apply for a bundle: one joint form, materials given once, every department at once"""
        answer = FirstAnswer()
        made = submission.submit(
            applicant_id=current_user().id, idempotency_key=request.headers["Idempotency-Key"],
            render=answer, **payload)
        return answer.created(made)


@blp.route("/<application_id>")
class ApplicationById(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, ApplicationSchema)
    def get(self, application_id):
        """One application: its status, each department's task, the predicted completion"""
        return applications.citizen_view(applications.get_for_citizen(
            application_id=application_id, citizen=current_user()))


@blp.route("/<application_id>/timeline")
class ApplicationTimeline(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, TimelineEventSchema(many=True))
    def get(self, application_id):
        """What happened, oldest first, in my language"""
        return applications.timeline_for_citizen(application_id=application_id,
                                                 citizen=current_user())


@blp.route("/<application_id>/withdraw")
class ApplicationWithdrawal(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, ApplicationSchema)
    @documented(blp, 409, "application_not_withdrawable",
                "A department has already completed a matter.",
                description="A matter is completed or the application is closed "
                            "(`application_not_withdrawable`), or it changed meanwhile "
                            "(`concurrent_update`)")
    def post(self, application_id):
        """Withdraw before any department completed a matter; departments are told"""
        return applications.citizen_view(submission.withdraw(application_id=application_id,
                                                           citizen=current_user()))


@blp.route("/<application_id>/supplements")
class ApplicationSupplements(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(SupplementAnswerSchema())
    @blp.response(200, ApplicationSchema)
    @documented(blp, 409, "no_supplement_requested", "No supplement is requested.")
    def post(self, payload, application_id):
        """Answer the supplement request; the tasks go back to their departments"""
        return applications.citizen_view(supplements.answer_supplement(
            application_id=application_id, citizen=current_user(), **payload))
