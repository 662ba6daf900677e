"""Materials and the vault: what goes in (an upload, a review) and what comes out."""
from flask_smorest.fields import Upload
from marshmallow import RAISE, Schema, fields, validate


class MaterialSchema(Schema):
    """A material in a citizen's vault: an upload or an e-licence."""

    id = fields.String(dump_only=True)
    type = fields.String(dump_only=True, metadata={"description": "material type code"})
    type_name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": "upload | elicence"})
    status = fields.String(
        dump_only=True, metadata={"description": "uploaded | verified | rejected | expired"})
    content_type = fields.String(dump_only=True, allow_none=True,
                                 metadata={"description": "the real type, read from the bytes"})
    size = fields.Integer(dump_only=True, allow_none=True)
    sha256 = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "SHA-256 of the bytes kept"})
    filename = fields.String(dump_only=True, allow_none=True)
    subject = fields.String(dump_only=True, allow_none=True,
                            metadata={"description": "the family member it is about, if any"})
    issuer = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "department code of an e-licence"})
    issuer_name = fields.String(dump_only=True, allow_none=True)
    number = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "licence number; ID numbers masked"})
    valid_until = fields.DateTime(dump_only=True, allow_none=True)
    application = fields.String(dump_only=True, allow_none=True)
    task = fields.String(dump_only=True, allow_none=True)
    review_reason = fields.String(dump_only=True, allow_none=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True)
    has_content = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class MaterialUploadSchema(Schema):
    """A multipart upload: the file and the material type it is."""

    class Meta:
        unknown = RAISE

    file = Upload(required=True, metadata={"description": "JPEG, PNG, HEIC or PDF"})
    type = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "material type code, e.g. parent_id_card"})
    subject = fields.String(validate=validate.Length(min=1, max=64),
                            metadata={"description": "family member the material is about"})


class MaterialReadArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    task = fields.String(metadata={"description": "officers: the task the read is for"})


class MaterialContentArgsSchema(MaterialReadArgsSchema):
    link = fields.String(metadata={"description": "a signed download link's token"})
    download = fields.Boolean(load_default=False,
                              metadata={"description": "as an attachment rather than inline"})


class MaterialLinkCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    task = fields.String(metadata={"description": "the task the download is for"})


class MaterialLinkSchema(Schema):
    url = fields.String(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)


class MaterialReviewSchema(Schema):
    class Meta:
        unknown = RAISE

    decision = fields.String(required=True, validate=validate.OneOf(["verified", "rejected"]))
    reason = fields.String(validate=validate.Length(max=500), load_default=None)
    task = fields.String(required=True, validate=validate.Length(min=1, max=64))


class VaultQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(metadata={"description": "only this material type"})
    subject = fields.String(metadata={"description": "only materials about this family member"})


class MaterialAccessSchema(Schema):
    """One officer read of a material, as its owner sees it (no officer names)."""

    at = fields.DateTime(dump_only=True)
    department = fields.String(dump_only=True, allow_none=True)
    department_name = fields.String(dump_only=True, allow_none=True)
    matter = fields.String(dump_only=True, allow_none=True)
    application = fields.String(dump_only=True, allow_none=True)
    action = fields.String(dump_only=True)


class UploadFormatSchema(Schema):
    content_type = fields.String(dump_only=True, metadata={"example": "image/heic"})
    format = fields.String(dump_only=True, metadata={"example": "heic"})
    kept_as = fields.String(dump_only=True, metadata={
        "description": "what the vault keeps (HEIC photos become JPEG)", "example": "image/jpeg"})
    extensions = fields.List(fields.String(), dump_only=True)


class UploadLimitsSchema(Schema):
    """What one upload may be: a client checks a file against it before sending it."""

    max_bytes = fields.Integer(dump_only=True, metadata={"description": "over it: 413 "
                                                                       "payload_too_large"})
    max_pixels = fields.Integer(dump_only=True, metadata={"description": "an image over it: 413 "
                                                                        "image_too_large"})
    quota_count = fields.Integer(dump_only=True, metadata={"description": "materials in one "
                                                                         "vault"})
    quota_bytes = fields.Integer(dump_only=True, metadata={"description": "bytes in one vault"})
    formats = fields.List(fields.Nested(UploadFormatSchema), dump_only=True, metadata={
        "description": "read from the bytes, not the name; anything else: 415 "
                       "unsupported_media_type"})
