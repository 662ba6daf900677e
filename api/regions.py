"""Regions: the province, its cities and counties, where departments work and citizens apply."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas.regions import RegionQueryArgsSchema, RegionSchema
from services.regions import divisions

blp = Blueprint("regions", __name__, url_prefix="/api/v1/regions",
                description="Administrative divisions of Zhejiang, GB/T 2260 (public)")


@blp.route("")
class Regions(MethodView):
    @blp.arguments(RegionQueryArgsSchema, location="query")
    @blp.response(200, RegionSchema(many=True))
    def get(self, args):
        """The province, its 11 cities and 90 counties: code, name, parent and level"""
        return divisions.list_regions(**args)
