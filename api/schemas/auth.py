"""Signing in: codes, passwords, refresh tokens, client credentials, mini-program sign-in."""
from marshmallow import RAISE, Schema, fields, post_dump, validate

from services.identity import otp

CODE = validate.Regexp(r"^\d{6}$", error="A code is 6 digits.")


def phone_field() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=11, max=20),
                         metadata={"description": "mainland mobile number, 11 digits",
                                   "example": "13800138000"})


class Strict(Schema):
    class Meta:
        unknown = RAISE


class OtpRequestSchema(Strict):
    phone = phone_field()
    purpose = fields.String(load_default="login",
                            validate=validate.OneOf(list(otp.PURPOSES)),
                            metadata={"description": "login (default) or miniprogram_bind"})


class OtpSentSchema(Schema):
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})
    debug_code = fields.String(metadata={"description": "development and tests only"})


class LoginSchema(Strict):
    phone = phone_field()
    code = fields.String(required=True, validate=CODE)


class StaffLoginSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             load_only=True)


class RefreshSchema(Strict):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512),
                                  load_only=True)


class SessionUserSchema(Schema):
    id = fields.String()
    role = fields.String(metadata={"description": "citizen | officer | clerk | agent | admin"})
    name = fields.String(allow_none=True)
    locale = fields.String()
    department = fields.String(metadata={"description": "officers"})
    region = fields.String(metadata={
        "description": "staff: where an officer or agent works, a clerk's station is, an admin "
                       "manages"})
    station = fields.String(metadata={"description": "clerks"})

    @post_dump
    def drop_unset_staff_fields(self, data, **kwargs):
        return {k: v for k, v in data.items()
                if v is not None or k not in {"department", "region", "station"}}


class TokensSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "access token lifetime in seconds"})
    user = fields.Nested(SessionUserSchema)


class ClientCredentialsSchema(Strict):
    grant_type = fields.String(required=True, metadata={"example": "client_credentials"})
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    client_secret = fields.String(required=True, validate=validate.Length(min=1, max=256),
                                  load_only=True)
    scope = fields.String(validate=validate.Length(max=500),
                          metadata={"description": "space-separated; default: all granted"})


class PartnerTokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    scope = fields.String()


class MiniProgramLoginSchema(Strict):
    platform = fields.String(required=True, validate=validate.OneOf(["wechat", "alipay"]))
    code = fields.String(required=True, validate=validate.Length(min=1, max=256),
                         metadata={"description": "the code the mini-program's login API gave"})


class MiniProgramBindSchema(Strict):
    ticket = fields.String(required=True, validate=validate.Length(min=1, max=256),
                           metadata={"description": "from the miniprogram_unbound answer"})
    phone = phone_field()
    code = fields.String(required=True, validate=CODE,
                         metadata={"description": "an SMS code sent with purpose "
                                                  "miniprogram_bind"})
