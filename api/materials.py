"""Materials: uploads, their details and bytes, officers' signed links and reviews."""
import functools

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from api.auth import BEARER_SECURITY, auth_required, authenticate, current_user
from api.rate_limits import per_citizen
from api.schemas.errors import documented
from api.schemas.materials import (
    MaterialContentArgsSchema,
    MaterialLinkCreateSchema,
    MaterialLinkSchema,
    MaterialReadArgsSchema,
    MaterialReviewSchema,
    MaterialSchema,
    MaterialUploadSchema,
    UploadLimitsSchema,
)
from models.audit import MaterialAction
from models.user import Role
from services.materials import access as material_access
from services.materials import uploads, vault
from services.workflow import supplements


class MultipartParser(FlaskParser):
    """Reads a multipart body's fields and files as one: `type` and `file` in one schema."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class MaterialsBlueprint(Blueprint):
    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


blp = MaterialsBlueprint("materials", __name__, url_prefix="/api/v1",
                         description="Materials given once and reused: uploads and e-licences")

# Room in a multipart body for its boundaries and the other fields, beyond the file itself.
MULTIPART_ALLOWANCE = 64 * 1024
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def refuse_oversized_uploads(view):
    """413 from the declared length before any of the body is read; a body without a declared
    length (chunked) is cut off by the same limit while it streams."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        limit = uploads.max_upload_bytes() + MULTIPART_ALLOWANCE
        if current_app.config.get("MAX_CONTENT_LENGTH"):
            limit = min(limit, current_app.config["MAX_CONTENT_LENGTH"])
        if request.content_length is not None and request.content_length > limit:
            raise uploads.too_large(uploads.max_upload_bytes())
        request.max_content_length = limit
        return view(*args, **kwargs)

    return wrapper


def content_response(material, *, download: bool) -> Response:
    """The kept bytes, streamed from GridFS, never interpreted by the browser as anything else."""
    response = Response(uploads.content_chunks(material), mimetype=material.content_type)
    response.content_length = material.size
    name = f"{material.type}.{EXTENSIONS.get(material.content_type, 'bin')}"
    response.headers["Content-Disposition"] = (
        f'{"attachment" if download else "inline"}; filename="{name}"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    response.set_etag(material.sha256)
    return response


@blp.route("/materials")
class Materials(MethodView):
    @auth_required(role=Role.CITIZEN)
    @per_citizen(blp, "uploads")
    @refuse_oversized_uploads
    @blp.arguments(MaterialUploadSchema, location="multipart")
    @blp.response(201, MaterialSchema)
    @blp.alt_response(200, schema=MaterialSchema,
                      description="The same file of the same type was already in the vault: "
                                  "that material, unchanged.")
    def post(self, form):
        """Upload a material (JPEG, PNG, HEIC or PDF) into my vault

        The real type is read from the bytes: anything else is 415 `unsupported_media_type`.
        Over `MATERIAL_MAX_BYTES` is 413 `payload_too_large`, an image over
        `MATERIAL_MAX_PIXELS` 413 `image_too_large`. A full vault (`MATERIAL_QUOTA_COUNT`,
        `MATERIAL_QUOTA_BYTES`) is 422 `quota_exceeded`. Photos lose their metadata (EXIF, GPS);
        HEIC photos are kept as JPEG. Uploading the same file again for the same type answers 200
        with the material already kept; a new one answers 201.
        """
        upload = form["file"]
        material, created = vault.upload(
            owner_id=current_user().id, type_code=form["type"], stream=upload.stream,
            filename=upload.filename, subject_id=form.get("subject"))
        return material, 201 if created else 200


@blp.route("/materials/limits")
class UploadLimits(MethodView):
    @blp.response(200, UploadLimitsSchema)
    def get(self):
        """What one upload may be: its largest size and image, the vault's quota, the formats"""
        return uploads.upload_limits()


@blp.route("/materials/<material_id>")
class MaterialById(MethodView):
    @auth_required()
    @blp.arguments(MaterialReadArgsSchema, location="query")
    @blp.response(200, MaterialSchema)
    def get(self, args, material_id):
        """A material's details: its owner's, or an officer's whose task needs it (audited)"""
        access = material_access.for_reader(material_id=material_id, principal=current_user(),
                                            task_id=args.get("task"))
        return vault.describe([access.material])[0]

    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    @documented(blp, 409, "material_in_use",
                "An application uses this material; it cannot be removed.")
    def delete(self, material_id):
        """Remove an upload no application was given (409 `material_in_use` otherwise)"""
        vault.delete_upload(material_id=material_id, owner_id=current_user().id)


@blp.route("/materials/<material_id>/content")
class MaterialContent(MethodView):
    @blp.arguments(MaterialContentArgsSchema, location="query")
    @blp.doc(security=[*BEARER_SECURITY, {}], responses={
        "200": {"description": "The bytes kept, with their real content type"}})
    def get(self, args, material_id):
        """A material's bytes: the owner's, an officer's whose task needs it, or a signed link's

        With `link` (from `POST /workbench/materials/{id}/links`) no Authorization header is
        needed; the link names its officer and task, expires after `MATERIAL_LINK_TTL` seconds
        (403 `link_expired`), and each use is audited like any officer read.
        """
        if args.get("link"):
            access = material_access.read_by_link(material_id=material_id, token=args["link"])
        else:
            access = material_access.for_reader(material_id=material_id,
                                                principal=authenticate(), task_id=args.get("task"),
                                                action=MaterialAction.CONTENT)
        return content_response(access.material, download=args["download"])


@blp.route("/workbench/materials/<material_id>/links")
class MaterialLinks(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(MaterialLinkCreateSchema)
    @blp.response(201, MaterialLinkSchema)
    def post(self, payload, material_id):
        """A short-lived signed download link for a material my department's task needs"""
        token, expires_at = material_access.signed_link(
            material_id=material_id, principal=current_user(), task_id=payload.get("task"))
        url = url_for("materials.MaterialContent", material_id=material_id, link=token,
                      _external=False)
        return {"url": url, "expires_at": expires_at}


@blp.route("/workbench/materials/<material_id>/review")
class MaterialReview(MethodView):
    @auth_required(role=Role.OFFICER)
    @blp.arguments(MaterialReviewSchema)
    @blp.response(200, MaterialSchema)
    @documented(blp, 409, "material_not_reviewable", "This material cannot be reviewed now.")
    def post(self, payload, material_id):
        """Mark a material verified or rejected; rejecting asks the citizen for a new one

        `reason` is required to reject. The rejection goes to the citizen as a supplement request
        of the task named in `task`, for that material type.
        """
        material = supplements.review_material(
            material_id=material_id, officer=current_user(), decision=payload["decision"],
            reason=payload["reason"], task_id=payload["task"])
        return vault.describe([material])[0]
