"""Maintaining the catalogue: matters and bundles, for admins of the reform office."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required
from api.schemas.catalogue import (
    AdminBundleSchema,
    AdminMatterSchema,
    BundleCreateSchema,
    BundleSchema,
    BundleUpdateSchema,
    MatterCreateSchema,
    MatterUpdateSchema,
)
from models.user import Role
from services import catalogue, catalogue_admin

blp = Blueprint("admin_catalogue", __name__, url_prefix="/api/v1/admin",
                description="Catalogue maintenance (admins)")


@blp.route("/matters")
class AdminMatters(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.arguments(MatterCreateSchema)
    @blp.response(201, AdminMatterSchema)
    def post(self, payload):
        """Add a matter; 422 naming each problem (unknown department or material type, ...)"""
        return catalogue_admin.create_matter(data=payload)


@blp.route("/matters/<code>")
class AdminMatterByCode(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, AdminMatterSchema)
    def get(self, code):
        """A matter, retired or not"""
        return catalogue.matter_detail(code, include_retired=True)

    @auth_required(role=Role.ADMIN)
    @blp.arguments(MatterUpdateSchema)
    @blp.response(200, AdminMatterSchema)
    def patch(self, payload, code):
        """Change a matter; every bundle using it must still compile and gets a new version"""
        return catalogue_admin.update_matter(code=code, changes=payload)


@blp.route("/matters/<code>/retire")
class AdminMatterRetirement(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, AdminMatterSchema)
    def post(self, code):
        """Retire a matter no live bundle uses (409 while one does)"""
        return catalogue_admin.retire_matter(code=code)


@blp.route("/bundles")
class AdminBundles(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.arguments(BundleCreateSchema)
    @blp.response(201, BundleSchema)
    def post(self, payload):
        """Compose a bundle; 422 on an unknown matter, a cycle, an unmet input, a field conflict"""
        return catalogue_admin.create_bundle(data=payload)


@blp.route("/bundles/<code>")
class AdminBundleByCode(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, AdminBundleSchema)
    def get(self, code):
        """A bundle, retired or not, with its published versions"""
        return catalogue_admin.bundle_admin_view(code)

    @auth_required(role=Role.ADMIN)
    @blp.arguments(BundleUpdateSchema)
    @blp.response(200, BundleSchema)
    def patch(self, payload, code):
        """Change a bundle; a changed definition is published as a new version"""
        return catalogue_admin.update_bundle(code=code, changes=payload)


@blp.route("/bundles/<code>/retire")
class AdminBundleRetirement(MethodView):
    @auth_required(role=Role.ADMIN)
    @blp.response(200, AdminBundleSchema)
    def post(self, code):
        """Stop offering a bundle; applications made with it keep their version"""
        return catalogue_admin.retire_bundle(code=code)
