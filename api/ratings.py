"""Ratings (好差评): the citizen rates a finished task or application and reads the answer."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.ratings import RatingCreateSchema, RatingSchema
from models.user import Role
from services.ratings import ratings

blp = Blueprint("ratings", __name__, url_prefix="/api/v1/applications",
                description="Ratings (好差评) of finished tasks and applications")

NOT_FOUND = documented(blp, 404, "application_not_found", "No such application.",
                       description="not the caller's application (application_not_found)")


@blp.route("/<application_id>/ratings")
class ApplicationRatings(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, RatingSchema(many=True))
    @NOT_FOUND
    def get(self, application_id):
        """My ratings of my application, each with its rectification and the department's reply"""
        return ratings.citizen_ratings(application_id=application_id, citizen=current_user())

    @auth_required(role=Role.CITIZEN)
    @blp.arguments(RatingCreateSchema, example={"task": "5f1c0e…", "score": 1,
                                                "tags": ["had_to_run_again", "slow"],
                                                "comment": "窗口让我回家拿户口本，多跑了一趟。"})
    @blp.response(201, RatingSchema)
    @NOT_FOUND
    @documented(blp, 409, "already_rated", "You have already rated this.",
                description="already_rated; task_not_finished or application_not_finished: "
                            "only completed or rejected work is rated")
    @documented(blp, 422, "unknown_tags", "Some tags are not on the list.",
                {"tags": ["Unknown tags: quick. Choose from: fast, clear_guidance, …"]},
                description="a score outside 1-5, a tag not on the list, a task not of this "
                            "application: the field is named, nothing is stored")
    def post(self, payload, application_id):
        """Rate finished work, 5 非常满意 … 1 非常不满意; 2 or less opens a rectification case"""
        rating = ratings.rate(application_id=application_id, citizen=current_user(), **payload)
        return ratings.view(rating)
