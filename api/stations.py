"""Service stations: a clerk applies for a citizen who is present and consents by SMS code."""
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, client_address, current_user
from api.materials import refuse_oversized_uploads
from api.schemas.errors import documented
from api.schemas.materials import MaterialSchema
from api.schemas.stations import (
    AssistedApplicationCreateSchema,
    AssistedApplicationSchema,
    StationConsentCreateSchema,
    StationConsentGrantSchema,
    StationConsentSchema,
    StationConsentVerifySchema,
    StationScanFileSchema,
    StationScanFormSchema,
)
from common import crypto
from models.user import Role
from services.materials import vault
from services.workflow import assisted

blp = Blueprint("stations", __name__, url_prefix="/api/v1/workbench",
                description="Assisted handling at service stations (clerks)")


@blp.route("/assisted-applications/consent")
class AssistedConsent(MethodView):
    @auth_required(role=Role.CLERK)
    @blp.arguments(StationConsentCreateSchema)
    @blp.response(202, StationConsentSchema)
    @documented(blp, 429, "otp_rate_limited", "Too many codes requested; try again in 43 seconds.",
                description="Too many codes for this phone: see `Retry-After` (`otp_rate_limited`)")
    def post(self, payload):
        """Text the citizen a consent code to read out to the clerk"""
        sent = assisted.send_consent_code(clerk=current_user(), phone=payload["phone"],
                                          client_ip=client_address())
        answer = {"expires_in": sent.expires_in, "phone": crypto.mask_phone(payload["phone"])}
        if sent.debug_code:  # OTP_DEBUG_CODE: development and tests only
            answer["debug_code"] = sent.debug_code
        return answer


@blp.route("/assisted-applications/consent/verify")
class AssistedConsentVerification(MethodView):
    @auth_required(role=Role.CLERK)
    @blp.arguments(StationConsentVerifySchema)
    @blp.response(201, StationConsentGrantSchema)
    def post(self, payload):
        """Turn the citizen's code into a consent for scanning their originals and applying"""
        consent = assisted.verify_consent(clerk=current_user(), **payload)
        return {"consent": consent.token, "expires_in": consent.expires_in}


@blp.route("/assisted-applications/scans")
class AssistedScans(MethodView):
    @auth_required(role=Role.CLERK)
    @refuse_oversized_uploads
    @blp.arguments(StationScanFormSchema, location="form")
    @blp.arguments(StationScanFileSchema, location="files")
    @blp.response(201, MaterialSchema)
    @blp.alt_response(200, schema=MaterialSchema,
                      description="The same scan of the same type was already in the vault.")
    def post(self, form, files):
        """Keep a scan of an original in the consenting citizen's vault"""
        upload = files["file"]
        material, created = assisted.scan_original(
            clerk=current_user(), consent=form["consent"], type=form["type"],
            stream=upload.stream, filename=upload.filename)
        return vault.describe([material])[0], 201 if created else 200


@blp.route("/assisted-applications")
class AssistedApplications(MethodView):
    @auth_required(role=Role.CLERK)
    @blp.arguments(AssistedApplicationCreateSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": True,
                          "schema": {"type": "string"},
                          "description": "a retry with the same key answers the same "
                                         "application"}])
    @blp.response(201, AssistedApplicationSchema)
    @documented(blp, 409, "application_already_open",
                "You already have an open application for this.",
                description="An open application for this bundle and subject exists "
                            "(`application_already_open`)")
    def post(self, payload):
        """Apply for the citizen present at my station, with their consent

        Either `consent` (from `.../consent/verify`) or the citizen's `phone` and texted `code`.
        The application is the citizen's (it shows up in their app) and its timeline says it was
        made at this station; `originals_checked` records which originals the clerk saw.
        Materials already in the citizen's vault (their uploads, e-licences, the clerk's scans)
        are used for what `materials` does not name.
        """
        application = assisted.apply_for_citizen(
            clerk=current_user(), idempotency_key=request.headers.get("Idempotency-Key"),
            **payload)
        return assisted.describe([application])[0]

    @auth_required(role=Role.CLERK)
    @blp.response(200, AssistedApplicationSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Applications made at my station, newest first"""
        found, total = assisted.list_for_station(
            clerk=current_user(), offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return assisted.describe(found)


@blp.route("/assisted-applications/<application_id>")
class AssistedApplicationById(MethodView):
    @auth_required(role=Role.CLERK)
    @blp.response(200, AssistedApplicationSchema)
    def get(self, application_id):
        """One application made at my station"""
        application = assisted.get_for_station(clerk=current_user(),
                                                application_id=application_id)
        return assisted.describe([application])[0]
