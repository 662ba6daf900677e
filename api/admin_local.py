"""Local implementation (实施清单): how a region carries out a matter of its level.

An admin of the province sets any region's; an admin scoped to a region sets their own region's
(and those within it). Every process sees a change at its next request.
"""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.catalogue import LocalImplementationSchema, LocalImplementationUpdateSchema
from models.user import Role
from services.catalogue import local

blp = Blueprint("admin_local", __name__, url_prefix="/api/v1/admin",
                description="Local implementation of matters by regions (admins)")


@blp.route("/matters/<code>/regions/<region>")
class LocalImplementation(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, LocalImplementationSchema)
    def get(self, code, region):
        """How a region carries out a matter: its promise and window, else the catalogue's"""
        return local.get_local(matter=code, region=region)

    @auth_required(role=Role.ADMIN)
    @blp.arguments(LocalImplementationUpdateSchema)
    @blp.response(200, LocalImplementationSchema)
    def put(self, payload, code, region):
        """Set a region's own promised limit and service window for a matter of its level"""
        return local.set_local(matter=code, region=region, admin_region=current_user().region,
                               **payload)

    @auth_required(role=Role.ADMIN)
    @blp.response(204)
    def delete(self, code, region):
        """The region follows the catalogue's matter again"""
        local.clear_local(matter=code, region=region, admin_region=current_user().region)
