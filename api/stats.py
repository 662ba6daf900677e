"""Public figures: the reform's savings and speed, and citizens' ratings; aggregates only."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas.errors import documented
from api.schemas.ratings import RatingStatsQueryArgsSchema, RatingStatsSchema
from api.schemas.stats import ReformFiguresSchema, ReformQueryArgsSchema
from services.ratings import figures as rating_figures
from services.stats import reform

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats",
                description="Public aggregates: no comment and no person, ever")


@blp.route("/ratings")
class RatingFigures(MethodView):
    @blp.arguments(RatingStatsQueryArgsSchema, location="query")
    @blp.response(200, RatingStatsSchema, example={
        "count": 128, "by_score": {"1": 2, "2": 3, "3": 1, "4": 22, "5": 100},
        "satisfaction": 0.9531, "department": "public_security", "region": "330381",
        "matter": None})
    def get(self, args):
        """How citizens rated, by department, region and matter: counts and satisfaction only"""
        return rating_figures.public_figures(**args)


@blp.route("/reform")
class ReformFigures(MethodView):
    @blp.arguments(ReformQueryArgsSchema, location="query")
    @blp.response(200, ReformFiguresSchema, example={
        "bundle": "newborn", "region": "330381", "from": "2026-01-01", "to": "2026-12-31",
        "applications": 3120, "completed": 3051, "rejected": 12,
        "median_minutes_to_complete": 41, "p90_minutes_to_complete": 58,
        "completed_within_hour_share": 0.9312, "forms_saved": 12204, "materials_saved": 61020,
        "trips_saved": 18306, "supplement_share": 0.0421, "ratings": 1480,
        "satisfaction": 0.9716})
    @documented(blp, 422, "validation_failed", "Some fields are not valid.",
                {"bundle": ["No bundle newbron."]},
                description="an unknown bundle, a malformed region or date, a period that ends "
                            "before it starts")
    def get(self, args):
        """What the reform did: speed, forms, materials and trips saved, satisfaction"""
        return reform.reform_figures(**args)
