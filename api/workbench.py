"""The workbench: officers work their department's queue."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.workbench import (
    SupplementRequestSchema,
    TaskCompleteSchema,
    TaskCountsArgsSchema,
    TaskCountsSchema,
    TaskQueryArgsSchema,
    TaskRejectSchema,
    WorkbenchTaskDetailSchema,
    WorkbenchTaskSchema,
)
from models.user import Role
from services.workflow import handling, supplements, workbench

blp = Blueprint("workbench", __name__, url_prefix="/api/v1/workbench",
                description="Department officers' queues and the transitions of their tasks")


def _view(application, task_id):
    return workbench.task_view(application, task_id, current_user())


@blp.route("/tasks")
class Tasks(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(TaskQueryArgsSchema, location="query")
    @blp.response(200, WorkbenchTaskSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """My department's queue, most urgent first (filter by status, bundle, overdue)"""
        items, total = workbench.list_tasks(officer=current_user(),
                                            page=pagination_parameters.page,
                                            page_size=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = total
        return items


@blp.route("/tasks/counts")
class TaskCounts(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(TaskCountsArgsSchema, location="query")
    @blp.response(200, TaskCountsSchema, example={
        "open": 12, "overdue": 2, "by_status": {"pending": 7, "claimed": 4,
                                                "needs_supplement": 1, "completed": 58,
                                                "rejected": 3},
        "finished_since": "2026-11-30T08:15:00+00:00"})
    def get(self, args):
        """How many of my department's tasks in my region are in each status, and overdue"""
        return workbench.task_counts(officer=current_user(), **args)


@blp.route("/tasks/<task_id>")
class TaskById(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.response(200, WorkbenchTaskDetailSchema)
    def get(self, task_id):
        """One task with what I may see of its application"""
        return _view(workbench.get_task(task_id=task_id, officer=current_user()), task_id)


@blp.route("/tasks/<task_id>/claim")
class TaskClaim(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.response(200, WorkbenchTaskDetailSchema)
    @documented(blp, 409, "task_not_claimable",
                "Task is waiting for: newborn_household_registration",
                description="The task is not `pending` (`task_not_claimable`), or changed "
                            "meanwhile (`concurrent_update`); a task I already hold answers 200")
    def post(self, task_id):
        """Take a pending task: one officer wins, the others get 409"""
        return _view(handling.claim_task(task_id=task_id, officer=current_user()), task_id)


@blp.route("/tasks/<task_id>/complete")
class TaskCompletion(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(TaskCompleteSchema)
    @blp.response(200, WorkbenchTaskDetailSchema)
    @documented(blp, 409, "task_not_claimed",
                "Claim the task first.",
                description="Not claimed by me (`task_not_claimed`) or no longer open "
                            "(`task_not_open`, `concurrent_update`); completed by me with the "
                            "same outputs and note answers 200 (a retry)")
    def post(self, payload, task_id):
        """Complete my task; its dependents move to their departments' queues"""
        return _view(handling.complete_task(task_id=task_id, officer=current_user(), **payload),
                     task_id)


@blp.route("/tasks/<task_id>/reject")
class TaskRejection(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(TaskRejectSchema)
    @blp.response(200, WorkbenchTaskDetailSchema)
    @documented(blp, 409, "task_not_claimed",
                "Claim the task first.",
                description="Not claimed by me (`task_not_claimed`) or no longer open "
                            "(`task_not_open`, `concurrent_update`)")
    def post(self, payload, task_id):
        """Refuse my task with a reason: the application is rejected, the citizen told why"""
        return _view(handling.reject_task(task_id=task_id, officer=current_user(), **payload),
                     task_id)


@blp.route("/tasks/<task_id>/supplement-request")
class TaskSupplementRequest(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(SupplementRequestSchema)
    @blp.response(200, WorkbenchTaskDetailSchema)
    @documented(blp, 409, "task_not_claimed",
                "Claim the task first.",
                description="Not claimed by me (`task_not_claimed`) or no longer open "
                            "(`task_not_open`, `concurrent_update`)")
    def post(self, payload, task_id):
        """Ask the citizen for more; only this task pauses, the others go on"""
        return _view(supplements.request_supplement(
            task_id=task_id, officer=current_user(), materials=payload["materials"],
            fields=payload["fields_"], reason=payload["reason"]), task_id)
