"""Partners report life events (a hospital: a birth); the people in them get offers."""
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.errors import documented
from api.schemas.offers import LifeEventAcceptedSchema, LifeEventCreateSchema
from models.partner import Scope
from services.offers import life_events

blp = Blueprint("life_events", __name__, url_prefix="/api/v1/partner/life-events",
                description="Life events reported by partners (scope life_events:write)")


@blp.route("")
class LifeEvents(MethodView):
    @auth_required(scope=Scope.LIFE_EVENTS_WRITE)
    @blp.arguments(LifeEventCreateSchema, example={
        "event_id": "ruian-hospital-2026-000123", "type": "birth",
        "occurred_at": "2026-05-01T07:45:00+08:00", "region": "330381",
        "people": [{"role": "mother", "id_number": "330381199202030346", "name": "陈静"},
                   {"role": "father", "id_number": "33038119900601011X", "name": "周磊"}],
        "facts": {"newborn_name": "周小雨", "newborn_gender": "female",
                  "birth_hospital": "瑞安市人民医院", "birth_certificate_number": "R330381001",
                  "birth_weight_grams": 3300}})
    @blp.response(202, LifeEventAcceptedSchema)
    @documented(blp, 422, "invalid_life_event", "The life event is not valid.",
                {"people.0.id_number": ["The ID number's check digit is wrong; please check "
                                        "it."]},
                description="an unknown type or bundle, a malformed ID number, a date in the "
                            "future: every field named, nothing stored")
    def post(self, payload):
        """Report a life event: citizens it names get an offer; the others when they verify"""
        return life_events.report(partner_id=current_user().id, payload=payload)
