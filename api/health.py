"""Liveness and readiness probes for load balancers and orchestrators."""
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from common import calendar
from models.connection import database
from services.errors import ServiceUnavailable

blp = Blueprint("health", __name__, url_prefix="/", description="Operations probes")


@blp.route("/healthz")
class Liveness(MethodView):
    @blp.response(200)
    def get(self):
        """The process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.response(200)
    def get(self):
        """The process can reach its database; names any year the holiday calendar is missing

        A year neither the calendar package, the settings nor a loaded schedule knows is listed
        in `calendar.missing_years` (working days there count weekdays only): load it with
        `flask calendar load-year`.
        """
        try:
            database().command("ping")
        except Exception:
            raise ServiceUnavailable("The database is unreachable.", "数据库不可达。",
                                     error="database_unavailable") from None
        missing = calendar.missing_years(current_app.config)
        return {"status": "ok", "database": "ok",
                "calendar": {"status": "incomplete" if missing else "ok",
                             "missing_years": missing}}
