"""Proactive offers: what a life event or an enrolment season brought the citizen."""
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.applications import IDEMPOTENCY_HEADER, FirstAnswer, idempotency_key_required
from api.auth import auth_required, current_user
from api.rate_limits import per_citizen
from api.schemas.applications import ApplicationSchema
from api.schemas.errors import documented
from api.schemas.offers import OfferAcceptSchema, OfferQueryArgsSchema, OfferSchema
from models.user import Role
from services.offers import offers

blp = Blueprint("offers", __name__, url_prefix="/api/v1/me/offers",
                description="Proactive offers: the one thing, started before the citizen asks")

NOT_FOUND = documented(blp, 404, "offer_not_found", "No such offer.")


@blp.route("")
class Offers(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.arguments(OfferQueryArgsSchema, location="query")
    @blp.response(200, OfferSchema(many=True))
    def get(self, args):
        """My offers, newest first: the bundle, what is filled in, what is on file"""
        return [offers.view(o) for o in offers.list_for_citizen(citizen=current_user(), **args)]


@blp.route("/<offer_id>/accept")
class OfferAcceptance(MethodView):
    @auth_required(role=Role.CITIZEN)
    @per_citizen(blp, "applications")
    @idempotency_key_required
    @blp.arguments(OfferAcceptSchema, example={"form": {
        "household_address": "瑞安市万松路1号", "residence_address": "瑞安市万松路1号",
        "newborn_ethnicity": "汉族", "bank_account": "6222020200112233445",
        "bank_name": "工商银行", "delivery_type": "vaginal",
        "premium_payment_method": "bank_deduction"}})
    @blp.response(201, ApplicationSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @NOT_FOUND
    @documented(blp, 409, "offer_expired", "This offer has expired.",
                description="offer_expired or offer_declined")
    @documented(blp, 428, "idempotency_key_required", "The Idempotency-Key header is required.")
    @documented(blp, 422, "validation_failed", "Some answers are not valid.",
                {"form.household_address": ["Household registration address is required."]},
                description="the joint form or materials are not complete: nothing is made, "
                            "the offer stays open")
    def post(self, payload, offer_id):
        """Apply in one call (prefill under my answers); every further tap answers the same"""
        answer = FirstAnswer()
        application = offers.accept(offer_id=offer_id, citizen=current_user(),
                                    idempotency_key=request.headers["Idempotency-Key"],
                                    render=answer, **payload)
        return answer.created(application)


@blp.route("/<offer_id>/decline")
class OfferDecline(MethodView):
    @auth_required(role=Role.CITIZEN)
    @blp.response(204)
    @NOT_FOUND
    @documented(blp, 409, "offer_accepted", "You already accepted this offer.")
    def post(self, offer_id):
        """No, thank you"""
        offers.decline(offer_id=offer_id, citizen=current_user())
