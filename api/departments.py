"""The departments that own the catalogue's matters."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas.catalogue import DepartmentQueryArgsSchema, DepartmentSchema
from services.catalogue import search as catalogue_search

blp = Blueprint("departments", __name__, url_prefix="/api/v1/departments",
                description="Departments (public)")


@blp.route("")
class Departments(MethodView):
    @blp.arguments(DepartmentQueryArgsSchema, location="query")
    @blp.response(200, DepartmentSchema(many=True))
    def get(self, args):
        """Departments, or those a region has (?region=), with how many live matters each owns"""
        return catalogue_search.list_departments(**args)
