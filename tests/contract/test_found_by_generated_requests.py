"""Each answer generated requests found outside the contract, now documented (or fixed), one
test each, so it stays so without the fuzz run."""
from api.schemas.examples import ID_NUMBER, REQUEST_EXAMPLES
from tests import workflow_support
from tests.helpers import make_citizen, make_clerk, make_partner, partner_token


def test_an_unknown_conversation_is_a_documented_404(client, as_documented):
    answer = client.as_(make_citizen()).post(
        "/api/v1/assistant/messages", json={"text": "hello", "conversation_id": "nope"},
        expect=404)
    assert answer.get_json()["error"] == "conversation_not_found"
    as_documented(answer, "POST /api/v1/assistant/messages")


def test_binding_with_an_unknown_ticket_is_a_documented_401(client, as_documented):
    answer = client.post("/api/v1/auth/miniprogram/bind",
                         json={"ticket": "no-such-ticket", "phone": "13800138000",
                               "code": "000000"}, expect=401)
    assert answer.get_json()["error"] == "binding_ticket_invalid"
    as_documented(answer, "POST /api/v1/auth/miniprogram/bind")


def test_a_second_matter_with_the_same_code_is_a_documented_409(as_admin, as_documented):
    workflow_support.load_catalogue()
    example = REQUEST_EXAMPLES["MatterCreate"]
    as_documented(as_admin.post("/api/v1/admin/matters", json=example, expect=201),
                  "POST /api/v1/admin/matters")
    again = as_admin.post("/api/v1/admin/matters", json=example, expect=409)
    assert again.get_json()["error"] == "matter_exists"
    as_documented(again, "POST /api/v1/admin/matters")


def test_a_verified_citizen_renaming_or_verifying_again_gets_documented_409s(client,
                                                                            as_documented):
    verified = client.as_(make_citizen(id_number=ID_NUMBER))
    renamed = verified.patch("/api/v1/me", json={"name": "Someone Else"}, expect=409)
    assert renamed.get_json()["error"] == "name_verified"
    as_documented(renamed, "PATCH /api/v1/me")
    again = verified.post("/api/v1/me/real-name", json={"name": "X", "id_number": ID_NUMBER},
                          expect=409)
    assert again.get_json()["error"] == "already_verified"
    as_documented(again, "POST /api/v1/me/real-name")


def test_removing_a_material_an_application_uses_is_a_documented_409(client, as_documented):
    workflow_support.load_catalogue()
    parent = workflow_support.make_parent()
    materials = workflow_support.newborn_materials(parent)
    as_parent = client.as_(parent)
    as_parent.post("/api/v1/applications", headers={"Idempotency-Key": "k1"},
                   json={"bundle": "newborn", "form": workflow_support.newborn_form(),
                         "materials": materials}, expect=201)
    answer = as_parent.delete(f"/api/v1/materials/{materials[0]}", expect=409)
    assert answer.get_json()["error"] == "material_in_use"
    as_documented(answer, "DELETE /api/v1/materials/{material_id}")


def test_replaying_webhooks_without_an_address_is_a_documented_404(client, as_documented):
    partner, _ = make_partner(webhook_url=None)
    answer = client.with_headers(Authorization=f"Bearer {partner_token(partner)}").post(
        "/api/v1/partner/webhooks/replay", json={"since": "2026-12-01T00:00:00Z"}, expect=404)
    assert answer.get_json()["error"] == "webhook_not_configured"
    as_documented(answer, "POST /api/v1/partner/webhooks/replay")


def test_asking_a_second_consent_code_at_once_is_a_documented_429(client, as_documented):
    clerk = client.as_(make_clerk())
    clerk.post("/api/v1/workbench/assisted-applications/consent",
               json={"phone": "13800138000"}, expect=202)
    answer = clerk.post("/api/v1/workbench/assisted-applications/consent",
                        json={"phone": "13800138000"}, expect=429)
    assert answer.get_json()["error"] == "otp_rate_limited"
    assert answer.headers["Retry-After"]
    as_documented(answer, "POST /api/v1/workbench/assisted-applications/consent")
