"""Administration of staff accounts and partner systems."""
from datetime import UTC, datetime

from marshmallow import RAISE, Schema, fields, validate

from api.schemas.regions import RegionCode
from models.partner import Scope

STAFF_ROLES = ["officer", "clerk", "agent", "admin"]
URL = validate.URL(schemes={"http", "https"}, require_tld=False)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class StaffSchema(Schema):
    id = fields.String(dump_only=True)
    username = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)
    locale = fields.String(dump_only=True)
    department = fields.String(dump_only=True, allow_none=True)
    region = fields.String(dump_only=True, allow_none=True)
    station = fields.String(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)
    locked = fields.Method("is_locked", dump_only=True,
                           metadata={"description": "locked after repeated failed sign-ins"})
    last_login_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    def is_locked(self, user):
        return bool(user.locked_until and user.locked_until > datetime.now(UTC))


class StaffQueryArgsSchema(Strict):
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    department = fields.String(validate=validate.Length(min=1, max=64))
    region = RegionCode()


class StaffCreateSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=2, max=64),
                             metadata={"example": "officer.public_security.2"})
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=10, max=256))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    name = fields.String(validate=validate.Length(min=1, max=100))
    locale = fields.String(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))
    department = fields.String(validate=validate.Length(min=1, max=64),
                               metadata={"description": "officers: department code"})
    region = RegionCode(metadata={
        "description": "officers and agents: where they work; clerks: their station's region; "
                       "admins: the region they manage (none: the province). A scoped admin's "
                       "own region when left out."})
    station = fields.String(validate=validate.Length(min=2, max=64),
                            metadata={"description": "clerks: service station code"})


class StaffUpdateSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=100))
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))
    department = fields.String(validate=validate.Length(min=1, max=64))
    region = RegionCode()
    station = fields.String(validate=validate.Length(min=2, max=64))
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=256))
    active = fields.Boolean(metadata={"description": "false disables and signs out"})
    unlock = fields.Boolean(metadata={"description": "true clears a lockout"})


class PartnerSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    client_id = fields.String(dump_only=True)
    scopes = fields.List(fields.String(), dump_only=True)
    webhook_url = fields.String(dump_only=True, allow_none=True)
    events = fields.List(fields.String(), dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class PartnerCreatedSchema(PartnerSchema):
    client_secret = fields.String(dump_only=True, metadata={"description": "shown only now"})
    webhook_secret = fields.String(dump_only=True,
                                   metadata={"description": "signs webhook bodies; shown only now"})



class PartnerCreateSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    client_id = fields.String(validate=validate.Length(min=3, max=64),
                              metadata={"description": "generated when not given"})
    scopes = fields.List(fields.String(validate=validate.OneOf([s.value for s in Scope])),
                         required=True)
    webhook_url = fields.String(validate=URL)
    events = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                         load_default=list)


class PartnerUpdateSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf([s.value for s in Scope])))
    webhook_url = fields.String(validate=URL)
    events = fields.List(fields.String(validate=validate.Length(min=1, max=64)))
    active = fields.Boolean()


class PartnerSecretSchema(Schema):
    client_id = fields.String(dump_only=True)
    client_secret = fields.String(dump_only=True, metadata={"description": "shown only now"})
