"""The assistant's API: the message contract, conversations only for their owner, handoffs for
staff, and the whole newborn case in either language."""
import pytest

from assistant import knowledge
from models.application import Application
from tests.assistant.conversation_support import NEWBORN_ANSWERS, newborn_family
from tests.helpers import make_citizen, make_officer

MESSAGES = "/api/v1/assistant/messages"


@pytest.fixture
def parent():
    return newborn_family()


def _card(body: dict, kind: str) -> dict | None:
    return next((c for c in body["reply"]["cards"] if c["type"] == kind), None)


def _talk(api, text: str, conversation: str | None = None, **extra) -> dict:
    payload = {"text": text, **extra}
    if conversation:
        payload["conversation_id"] = conversation
    return api.post(MESSAGES, json=payload, expect=200).get_json()


def _answer_all(api, body: dict, locale: str) -> dict:
    for _ in range(40):
        question = _card(body, "question")
        if question is None:
            return body
        body = _talk(api, NEWBORN_ANSWERS[locale][question["field"]], body["conversation_id"])
    raise AssertionError("the questions never ended")


@pytest.mark.parametrize("locale, opening, go, yes, ask", [
    ("en", "I just had a baby, what do I need to do?", "ok", "Confirm and submit",
     "Where is my application?"),
    ("zh-CN", "我刚生了二胎，要办什么手续", "好的", "确认提交", "我的出生一件事办到哪了"),
])
def test_from_a_baby_to_a_submitted_application_and_where_it_stands(
        client, parent, locale, opening, go, yes, ask):
    api = client.as_(parent).with_headers(**{"Accept-Language": locale})
    first = _talk(api, opening)
    assert first["nlu"] == {"intent": "explore_bundle", "bundle": "newborn",
                            "confidence": first["nlu"]["confidence"]}
    assert _card(first, "bundle")["code"] == "newborn"
    buttons = _card(first, "buttons")["buttons"]
    assert buttons[0]["action"] == "apply"

    summary = _answer_all(api, _talk(api, go, first["conversation_id"]), locale)
    assert _card(summary, "summary") is not None
    labels = [b["value"] for b in _card(summary, "buttons")["buttons"]]
    assert yes in labels
    submitted = _talk(api, yes, first["conversation_id"])
    application = Application.objects.get()
    assert _card(submitted, "status")["application_id"] == str(application.id)

    status = _talk(api, ask)
    assert status["nlu"]["intent"] == "check_status"
    card = _card(status, "status")
    assert card["application_id"] == str(application.id)
    assert card["eta"].endswith("+00:00")
    assert {d["status"] for d in card["departments"]} == {"in_progress", "waiting"}


def test_a_message_answers_with_the_contract_shape(client, parent):
    body = _talk(client.as_(parent), "转人工")
    assert set(body) == {"conversation_id", "reply", "nlu"}
    assert set(body["reply"]) == {"text", "cards"}
    assert body["nlu"] == {"intent": "handoff_human", "bundle": None, "confidence": 1.0}


@pytest.mark.parametrize("payload, field", [
    ({"text": ""}, "text"), ({"text": "   "}, "text"), ({"text": "x" * 1001}, "text"),
    ({}, "text"), ({"text": "hi", "mood": "happy"}, "mood"), ({"text": "hi", "locale": "fr"},
                                                              "locale"),
])
def test_a_bad_message_is_refused_with_the_field_named(client, parent, payload, field):
    response = client.as_(parent).post(MESSAGES, json=payload, expect=422)
    assert field in response.get_json()["errors"]


def test_only_citizens_talk_to_the_assistant(client):
    client.post(MESSAGES, json={"text": "hi"}, expect=401)
    client.as_(make_officer("health")).post(MESSAGES, json={"text": "hi"}, expect=403)


def test_a_conversation_is_only_its_owners(client, parent):
    mine = _talk(client.as_(parent), "你好")
    url = f"/api/v1/assistant/conversations/{mine['conversation_id']}"
    stranger = client.as_(make_citizen())

    stranger.get(url, expect=404)
    stranger.post(MESSAGES, json={"text": "继续", "conversation_id": mine["conversation_id"]},
                  expect=404)
    stranger.get("/api/v1/assistant/conversations/not-an-id", expect=404)
    turns = client.as_(parent).get(url, expect=200).get_json()["turns"]
    assert [t["role"] for t in turns] == ["citizen", "assistant"]
    assert turns[0]["nlu"]["intent"] == "greet_thanks"
    listed = client.as_(parent).get("/api/v1/assistant/conversations", expect=200).get_json()
    assert [c["id"] for c in listed] == [mine["conversation_id"]]
    assert stranger.get("/api/v1/assistant/conversations", expect=200).get_json() == []


def test_staff_see_handoffs_of_their_department_and_one_of_them_takes_it(client, parent):
    api = client.as_(parent)
    started = _talk(api, "帮我办新生儿出生一件事")
    handed = _talk(api, "我要找人工客服 我的电话13800001111", started["conversation_id"])
    handoff_id = _card(handed, "handoff")["handoff_id"]
    police, other = make_officer("public_security"), make_officer("transport")

    listed = client.as_(police).get("/api/v1/workbench/handoffs", expect=200).get_json()
    assert [h["id"] for h in listed] == [handoff_id]
    assert listed[0]["bundle"] == "newborn"
    assert "13800001111" not in str(listed) and "138****1111" in listed[0]["reason"]
    assert listed[0]["transcript"][0]["text"] == "帮我办新生儿出生一件事"
    assert client.as_(other).get("/api/v1/workbench/handoffs", expect=200).get_json() == []
    client.as_(other).get(f"/api/v1/workbench/handoffs/{handoff_id}", expect=404)

    claimed = client.as_(police).post(f"/api/v1/workbench/handoffs/{handoff_id}/claim",
                                      expect=200).get_json()
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == str(police.id)
    client.as_(make_officer("public_security")).post(
        f"/api/v1/workbench/handoffs/{handoff_id}/claim", expect=409)
    closed = client.as_(police).post(f"/api/v1/workbench/handoffs/{handoff_id}/close",
                                     expect=200).get_json()
    assert closed["status"] == "closed"
    assert client.as_(police).get("/api/v1/workbench/handoffs", expect=200).get_json() == []
    again = _talk(api, "转人工", started["conversation_id"])
    assert _card(again, "handoff")["handoff_id"] != handoff_id


def test_citizens_cannot_see_handoffs(client, parent):
    client.as_(parent).get("/api/v1/workbench/handoffs", expect=403)


def test_replies_in_english_when_the_citizen_writes_english(client, parent):
    body = _talk(client.as_(parent).with_headers(**{"Accept-Language": "zh-CN"}),
                 "what documents do I need for my newborn?")
    assert body["nlu"]["intent"] == "ask_materials"
    assert "materials" in body["reply"]["text"]
    assert knowledge.bundle_names("en")["newborn"] in body["reply"]["text"]
