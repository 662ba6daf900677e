"""Maintaining the catalogue: matters and bundles, for admins of the reform office.

A matter or bundle read here carries `ETag: "v<version>"`; a change sent with that value in
`If-Match` is refused with 412 when someone else changed it meanwhile.
"""
import re

from flask import request
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
from api.schemas.errors import documented
from models.user import Role
from services.catalogue import admin as catalogue_admin
from services.catalogue import publishing
from services.errors import PreconditionFailed

blp = Blueprint("admin_catalogue", __name__, url_prefix="/api/v1/admin",
                description="Catalogue maintenance (admins)")

ETAG = re.compile(r'\s*(?:W/)?"v(\d+)"\s*')
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": 'The ETag read with the object ("v3"): 412 if it changed since.'}


def _versioned(item: dict):
    return item, 200, {"ETag": f'"v{item.get("version", 1)}"'}


def _expected_version() -> int | None:
    header = request.headers.get("If-Match")
    if not header:
        return None
    match = ETAG.fullmatch(header)
    if match is None:
        raise PreconditionFailed('If-Match must be an ETag read from this API, like "v3".',
                                 "If-Match 必须是本接口返回的 ETag，例如 \"v3\"。",
                                 error="version_mismatch")
    return int(match.group(1))


@blp.route("/matters")
class AdminMatters(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(MatterCreateSchema)
    @blp.response(201, AdminMatterSchema)
    @documented(blp, 409, "matter_exists", "A matter newborn_name_registration already exists.")
    def post(self, payload):
        """Add a matter; 422 naming each problem (unknown department or material type, ...)"""
        return catalogue_admin.create_matter(data=payload)


@blp.route("/matters/<code>")
class AdminMatterByCode(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, AdminMatterSchema)
    def get(self, code):
        """A matter, retired or not"""
        return _versioned(publishing.matter_detail(code, include_retired=True))

    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(MatterUpdateSchema)
    @blp.response(200, AdminMatterSchema)
    @blp.doc(parameters=[IF_MATCH])
    @documented(blp, 409, "matter_changed", "The matter changed meanwhile; read it again.")
    def patch(self, payload, code):
        """Change a matter; every bundle using it must still compile and gets a new version"""
        return _versioned(catalogue_admin.update_matter(
            code=code, changes=payload, expected_version=_expected_version()))


@blp.route("/matters/<code>/retire")
class AdminMatterRetirement(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, AdminMatterSchema)
    @documented(blp, 409, "matter_in_use", "A live bundle still uses this matter.")
    def post(self, code):
        """Retire a matter no live bundle uses (409 while one does)"""
        return catalogue_admin.retire_matter(code=code)


@blp.route("/bundles")
class AdminBundles(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(BundleCreateSchema)
    @blp.response(201, BundleSchema)
    @documented(blp, 409, "bundle_exists", "A bundle newborn_lite already exists.")
    def post(self, payload):
        """Compose a bundle; 422 on an unknown matter, a cycle, an unmet input, a field conflict"""
        return catalogue_admin.create_bundle(data=payload)


@blp.route("/bundles/<code>")
class AdminBundleByCode(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, AdminBundleSchema)
    def get(self, code):
        """A bundle, retired or not, with its published versions"""
        return _versioned(catalogue_admin.bundle_admin_view(code))

    @auth_required(role=Role.ADMIN, province=True)
    @blp.arguments(BundleUpdateSchema)
    @blp.response(200, BundleSchema)
    @blp.doc(parameters=[IF_MATCH])
    @documented(blp, 409, "bundle_changed", "The bundle changed meanwhile; read it again.")
    def patch(self, payload, code):
        """Change a bundle; a changed definition is published as a new version"""
        return _versioned(catalogue_admin.update_bundle(
            code=code, changes=payload, expected_version=_expected_version()))


@blp.route("/bundles/<code>/retire")
class AdminBundleRetirement(MethodView):
    @auth_required(role=Role.ADMIN, province=True)
    @blp.response(200, AdminBundleSchema)
    def post(self, code):
        """Stop offering a bundle; applications made with it keep their version"""
        return catalogue_admin.retire_bundle(code=code)
