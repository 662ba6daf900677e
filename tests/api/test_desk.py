"""The service desk through the API: a citizen asks for a person, an agent of their region takes
the conversation and writes, the citizen sees it live (event stream), in the inbox, by push and
in the conversation; the assistant stays silent until the agent closes it, then answers again."""
import pytest

from assistant import knowledge
from notifications import fcm as fcm_module
from services.workflow import submission
from standins.fcm import FcmStandin
from tests import workflow_support as ws
from tests.helpers import make_agent, make_citizen, make_clerk, make_officer
from tests.notifications.test_end_to_end import LiveStream
from tests.notifications.test_worker import Running
from tests.processes import wait_until
from tests.workflow_support import load_catalogue, make_parent

MESSAGES = "/api/v1/assistant/messages"
DESK = "/api/v1/workbench/conversations"


@pytest.fixture
def phone(app, tmp_path, monkeypatch):
    """The FCM stand-in, playing the citizen's phone."""
    with FcmStandin() as standin:
        monkeypatch.setitem(app.config, "FCM_CREDENTIALS", standin.write_service_account(tmp_path))
        monkeypatch.setitem(app.config, "FCM_BASE_URL", standin.url)
        yield standin
        fcm_module.close_gateways()


@pytest.fixture
def parent():
    knowledge.forget()
    load_catalogue()
    return make_parent(locale="zh-CN")


def _card(body: dict, kind: str) -> dict | None:
    return next((c for c in body["reply"]["cards"] if c["type"] == kind), None)


def _talk(api, text: str, conversation: str | None = None) -> dict:
    payload = {"text": text, **({"conversation_id": conversation} if conversation else {})}
    return api.post(MESSAGES, json=payload, expect=200).get_json()


def test_a_citizen_asks_for_a_person_and_an_agent_answers_live(app, client, parent, phone,
                                                                desk_open, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 60.0)
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.05)
    citizen = client.as_(parent).with_headers(**{"Accept-Language": "zh-CN"})
    citizen.post("/api/v1/me/devices", json={"token": "parent-phone", "platform": "android"},
                 expect=201)
    agent, colleague, elsewhere = make_agent(), make_agent(), make_agent("330102")
    as_agent = client.as_(agent)

    # 转人工: the conversation waits in the queue of the citizen's region.
    started = _talk(citizen, "帮我办新生儿出生一件事")
    conversation = started["conversation_id"]
    handed = _talk(citizen, "转人工", conversation)
    assert handed["nlu"]["intent"] == "handoff_human"
    assert _card(handed, "handoff")["status"] == "waiting_for_staff"
    assert "排在第 1 位" in handed["reply"]["text"] and "工作日" in handed["reply"]["text"]
    mine = f"/api/v1/assistant/conversations/{conversation}"
    assert citizen.get(mine, expect=200).get_json()["status"] == "waiting_for_staff"

    queue = as_agent.get(DESK, expect=200).get_json()
    assert [c["id"] for c in queue] == [conversation]
    assert queue[0]["position"] == 1 and queue[0]["reason"] == "asked"
    assert queue[0]["citizen"]["phone"] == "138****0001"
    assert client.as_(elsewhere).get(DESK, expect=200).get_json() == []
    client.as_(elsewhere).post(f"{DESK}/{conversation}/claim", expect=404)
    client.as_(make_officer("public_security")).get(DESK, expect=403)

    # Waiting, the assistant does not answer: "有人吗？" is kept for staff, no greeting menu.
    waiting = _talk(citizen, "有人吗？", conversation)
    assert _card(waiting, "choices") is None and _card(waiting, "handoff") is not None

    taken = as_agent.post(f"{DESK}/{conversation}/claim", expect=200).get_json()
    assert taken["status"] == "with_staff" and taken["held_by_me"] is True
    assert [m["author"] for m in taken["messages"]][:2] == ["citizen", "assistant"]
    assert "有人吗？" in [m["text"] for m in taken["messages"]]
    client.as_(colleague).post(f"{DESK}/{conversation}/claim", expect=409)

    held = _talk(citizen, "宝宝是昨天出生的，户口怎么上？", conversation)
    assert held["reply"]["text"] == "" and _card(held, "handoff")["status"] == "with_staff"

    stream = LiveStream(app, parent)
    try:
        with Running(app):
            written = as_agent.post(f"{DESK}/{conversation}/messages",
                                    json={"text": "您好，我是服务台小王。户口我来帮您看。"},
                                    expect=201).get_json()
            wait_until(lambda: any(e["data"]["type"] == "staff_message"
                                   for e in stream.events), timeout=20, interval=0.05)
            wait_until(lambda: phone.messages, timeout=20, interval=0.05)
    finally:
        stream.close()

    assert written["messages"][-1] == {**written["messages"][-1], "author": "staff",
                                       "text": "您好，我是服务台小王。户口我来帮您看。"}
    [live] = [e["data"] for e in stream.events if e["data"]["type"] == "staff_message"]
    assert live["detail"] == "您好，我是服务台小王。户口我来帮您看。"
    assert live["data"] == {"conversation": conversation}
    inbox = citizen.get("/api/v1/me/notifications", expect=200).get_json()
    assert inbox["items"][0]["id"] == live["id"] and inbox["items"][0]["detail"] == live["detail"]
    [push] = phone.messages
    assert push["token"] == "parent-phone" and push["data"]["conversation_id"] == conversation
    assert "小王" not in str(push)  # the words stay in the app

    seen = citizen.get(mine, expect=200).get_json()
    assert seen["status"] == "with_staff"
    assert [m["author"] for m in seen["messages"]][-2:] == ["citizen", "staff"]
    assert seen["messages"][-1]["text"] == "您好，我是服务台小王。户口我来帮您看。"

    # Closed: back to the assistant, which answers again.
    closed = as_agent.post(f"{DESK}/{conversation}/close", expect=200).get_json()
    assert closed["status"] == "closed"
    again = _talk(citizen, "新生儿出生要带什么材料", conversation)
    assert again["reply"]["text"] and _card(again, "handoff") is None
    assert citizen.get(mine, expect=200).get_json()["status"] == "closed"
    assert [c["id"] for c in as_agent.get(f"{DESK}?status=closed", expect=200).get_json()] == [
        conversation]
    assert as_agent.get(DESK, expect=200).get_json() == []


def test_the_agent_reads_the_citizens_applications_that_bear_on_it_masked(client, parent,
                                                                          desk_open):
    application = submission.submit_application(
        applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
        form=ws.newborn_form(), materials=ws.newborn_materials(parent), idempotency_key="desk-1")
    citizen = client.as_(parent)
    handed = _talk(citizen, "我的出生一件事怎么还没办好，我要投诉")
    detail = client.as_(make_agent()).get(f"{DESK}/{handed['conversation_id']}",
                                          expect=200).get_json()

    [shown] = detail["applications"]
    assert shown["id"] == str(application.id) and shown["bundle"] == "newborn"
    waiting = next(t for t in shown["tasks"] if t["matter"] == "medical_insurance_enrolment")
    assert waiting["status"] == "waiting" and waiting["waiting_for"] == [
        "newborn_household_registration"]
    assert "6222020200112233445" not in str(detail)  # the bank account is masked
    assert shown["form"]["bank_account"] == "6222***********3445"


def test_only_agents_reach_the_desk(client, desk_open):
    conversation = _talk(client.as_(make_citizen()), "转人工")["conversation_id"]
    for outsider in (make_officer("health"), make_clerk()):
        client.as_(outsider).get(DESK, expect=403)
        client.as_(outsider).post(f"{DESK}/{conversation}/claim", expect=403)
    client.get(DESK, expect=401)
    client.as_(make_agent()).post(f"{DESK}/{conversation}/messages", json={"text": " "},
                                  expect=422)
    client.as_(make_agent()).get(f"{DESK}?status=open", expect=422)
