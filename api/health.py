"""Liveness and readiness probes for load balancers and orchestrators."""
from flask.views import MethodView
from flask_smorest import Blueprint

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
        """The process can reach its database"""
        try:
            database().command("ping")
        except Exception:
            raise ServiceUnavailable("The database is unreachable.", "数据库不可达。",
                                     error="database_unavailable") from None
        return {"status": "ok", "database": "ok"}
