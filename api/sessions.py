"""Signing in and out: SMS codes, staff passwords, refresh, partners' tokens, mini-programs."""
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_address
from api.errors import error_response
from api.schemas.auth import (
    ClientCredentialsSchema,
    LoginSchema,
    MiniProgramBindSchema,
    MiniProgramLoginSchema,
    OtpRequestSchema,
    OtpSentSchema,
    PartnerTokenSchema,
    RefreshSchema,
    StaffLoginSchema,
    TokensSchema,
)
from api.schemas.errors import documented
from services.identity import otp, sessions


class AuthBlueprint(Blueprint):
    # OAuth clients post the client-credentials grant as a form; others send JSON: both work.
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "json_or_form": "application/x-www-form-urlencoded",
    }


blp = AuthBlueprint("sessions", __name__, url_prefix="/api/v1/auth",
                    description="Signing in: citizens by SMS code or mini-program, staff by "
                                "password, partners by client credentials.")


@blp.after_request
def never_cache(response):
    # Tokens must not be kept by browsers or proxies (RFC 6749 §5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blp.route("/otp")
class OtpCodes(MethodView):
    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpSentSchema)
    @blp.alt_response(429, description="Too many codes: see Retry-After")
    def post(self, payload):
        """Text a 6-digit code to a mainland mobile number (1 a minute, 10 a day)"""
        sent = otp.request_code(phone=payload["phone"], purpose=payload["purpose"],
                                client_ip=client_address())
        body = {"expires_in": sent.expires_in}
        if sent.debug_code:
            body["debug_code"] = sent.debug_code
        return body


@blp.route("/login")
class CitizenLogin(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Wrong, expired or used code")
    def post(self, payload):
        """Sign a citizen in with phone and code; the first sign-in creates the account"""
        return sessions.citizen_login(phone=payload["phone"], code=payload["code"])


@blp.route("/staff-login")
class StaffLogin(MethodView):
    @blp.arguments(StaffLoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Wrong username or password, or locked")
    def post(self, payload):
        """Sign an officer, clerk or admin in with username and password"""
        return sessions.staff_login(username=payload["username"], password=payload["password"])


@blp.route("/refresh")
class TokenRefresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Invalid, expired or already used refresh token")
    def post(self, payload):
        """Spend a refresh token for new tokens (each refresh token works once)"""
        return sessions.refresh(refresh_token=payload["refresh_token"])


@blp.route("/logout")
class Logout(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(204)
    def post(self, payload):
        """Sign out: revoke this session's refresh tokens"""
        sessions.logout(refresh_token=payload["refresh_token"])


@blp.route("/token")
class PartnerToken(MethodView):
    @blp.arguments(ClientCredentialsSchema, location="json_or_form")
    @blp.response(200, PartnerTokenSchema)
    @blp.alt_response(401, description="invalid_client")
    def post(self, payload):
        """Partners: trade client credentials for a token limited to granted scopes"""
        return sessions.client_credentials(**payload)


@blp.route("/miniprogram")
class MiniProgramLogin(MethodView):
    @blp.arguments(MiniProgramLoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(403, description="miniprogram_unbound: bind with `ticket`, phone and code")
    def post(self, payload):
        """Sign in from a WeChat or Alipay mini-program with the code its login API gave"""
        try:
            return sessions.miniprogram_sign_in(platform=payload["platform"],
                                                code=payload["code"])
        except sessions.MiniProgramUnbound as unbound:
            response = error_response(unbound.status_code, unbound.error, unbound.message)
            body = response.get_json()
            body.update(ticket=unbound.ticket, ticket_expires_in=unbound.expires_in,
                        bind_url="/api/v1/auth/miniprogram/bind", otp_purpose="miniprogram_bind")
            response.set_data(current_app.json.dumps(body))
            return response


@blp.route("/miniprogram/bind")
class MiniProgramBinding(MethodView):
    @blp.arguments(MiniProgramBindSchema)
    @blp.response(200, TokensSchema)
    @documented(blp, 401, "binding_ticket_invalid", "The binding ticket is invalid or expired; "
                "sign in from the mini-program again.",
                description="The ticket is unknown or expired (`binding_ticket_invalid`), or "
                            "the code is wrong or spent (`otp_invalid`, `otp_expired`)")
    @documented(blp, 409, "miniprogram_already_bound",
                "This mini-program account is already linked to another citizen.")
    def post(self, payload):
        """Link a mini-program account to the citizen with this phone (code purpose
        miniprogram_bind) and sign in"""
        return sessions.miniprogram_bind(**payload)
