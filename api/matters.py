"""Matters (事项): the smallest particles of government work, searchable in Chinese or English."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas.catalogue import MatterItemSchema, MatterQueryArgsSchema, MatterSchema
from services.catalogue import publishing
from services.catalogue import search as catalogue_search

blp = Blueprint("matters", __name__, url_prefix="/api/v1/matters",
                description="The catalogue of matters (public)")


@blp.route("")
class Matters(MethodView):
    @blp.arguments(MatterQueryArgsSchema, location="query")
    @blp.response(200, MatterItemSchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, args, pagination_parameters):
        """Search matters by text, department, level and region, one page at a time"""
        items, total = catalogue_search.search_matters(
            page=pagination_parameters.page, page_size=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = total
        return items


@blp.route("/<code>")
class MatterByCode(MethodView):
    @blp.response(200, MatterSchema)
    def get(self, code):
        """One matter: its form fields, materials, outputs and time limits"""
        return publishing.matter_detail(code)
