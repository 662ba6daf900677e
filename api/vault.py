"""The citizen's vault: every material they gave and every e-licence issued to them."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.paging import MAX_PAGE_SIZE, PAGE_SIZE, one_page
from api.schemas.materials import MaterialAccessSchema, MaterialSchema, VaultQueryArgsSchema
from models.user import Role
from services.materials import vault

blp = Blueprint("vault", __name__, url_prefix="/api/v1/me",
                description="The citizen's vault of materials and e-licences")


@blp.route("/materials")
class MyMaterials(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(VaultQueryArgsSchema, location="query")
    @blp.response(200, MaterialSchema(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, args, pagination_parameters):
        """My vault: uploads and e-licences, newest first, with type, issuer, validity, status"""
        query = vault.vault_of(owner_id=current_user().id, type=args.get("type"),
                               subject_id=args.get("subject"))
        return vault.describe(one_page(query, pagination_parameters))


@blp.route("/materials/<material_id>/accesses")
class MyMaterialAccesses(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(200, MaterialAccessSchema(many=True))
    def get(self, material_id):
        """Which departments read one of my materials, when, and for which matter"""
        return vault.accesses_for_owner(material_id=material_id, owner_id=current_user().id)
