"""Each answer generated requests found outside the contract, now documented (or fixed), one
test each, so it stays so without the fuzz run."""
from tests.helpers import make_citizen


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
