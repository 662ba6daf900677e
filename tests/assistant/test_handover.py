"""The assistant hands a conversation over to the service desk: when asked, after two
misunderstandings in a row, about a rejected application; then it stays silent until staff
close it, and the citizen hears their place in the queue and when people are there."""
import pytest

from assistant import nlu
from models.application import Application
from models.conversation import Conversation
from models.handoff import Handoff
from services.desk import conversations as desk
from services.desk import hours
from services.workflow import adapters, handling
from tests.assistant.conversation_support import answer_questions, card, newborn_family, say
from tests.helpers import make_agent
from tests.workflow_support import make_parent


@pytest.fixture
def parent():
    return newborn_family()


def _unsure(monkeypatch, text="那个那个"):
    unsure = nlu.Understanding("explore_bundle", None, 0.2, text, "zh-CN", None,
                               (("explore_bundle", 0.2), ("faq", 0.15), ("check_status", 0.1)))
    monkeypatch.setattr(nlu.Understander, "understand", lambda self, raw: unsure)


def test_two_misunderstandings_in_a_row_hand_the_conversation_over(parent, monkeypatch,
                                                                   desk_open):
    _unsure(monkeypatch)
    first = say(parent, "那个那个")
    assert card(first, "choices") is not None and card(first, "handoff") is None
    second = say(parent, "就是那个嘛", first["conversation_id"])
    monkeypatch.undo()

    assert card(second, "handoff")["status"] == "waiting_for_staff"
    assert "没能理解" in second["reply"]["text"]
    stored = Conversation.objects.get(id=first["conversation_id"])
    assert stored.status == "waiting_for_staff" and stored.handover_reason == "not_understood"
    assert stored.region == "330381"  # no region chosen: the default region's desk


def test_one_misunderstanding_then_an_understood_message_starts_the_count_again(
        parent, monkeypatch, desk_open):
    _unsure(monkeypatch)
    first = say(parent, "那个那个")
    monkeypatch.undo()
    say(parent, "新生儿出生要办什么", first["conversation_id"])
    _unsure(monkeypatch)
    third = say(parent, "那个那个", first["conversation_id"])
    monkeypatch.undo()

    assert card(third, "handoff") is None
    assert Conversation.objects.get(id=first["conversation_id"]).status == "with_assistant"


def test_asking_about_a_rejected_application_brings_a_person_once(parent, desk_open):
    started = say(parent, "帮我办新生儿出生一件事")
    summary = answer_questions(parent, started, "zh-CN")
    submitted = say(parent, "确认提交", summary["conversation_id"])
    application_id = card(submitted, "status")["application_id"]
    task = Application.objects.get(id=application_id).task_for("birth_medical_certificate")
    officer = adapters.account_for(task.department)
    handling.claim_task(task_id=task.id, officer=officer)
    handling.reject_task(task_id=task.id, officer=officer, reason="出生医学证明信息不符")

    asked = say(parent, "我的申请到哪了")
    assert card(asked, "status")["status"] == "rejected"
    assert card(asked, "handoff")["status"] == "waiting_for_staff"
    assert "未通过" in asked["reply"]["text"] and "工作人员" in asked["reply"]["text"]
    handoff = Handoff.objects.get()
    assert handoff.application == application_id

    # Once staff have explained it, asking again shows the status without a new handoff.
    agent = make_agent()
    desk.claim(agent=agent, conversation_id=asked["conversation_id"])
    desk.close(agent=agent, conversation_id=asked["conversation_id"])
    again = say(parent, "我的申请到哪了", asked["conversation_id"])
    assert card(again, "status") is not None and card(again, "handoff") is None
    assert Handoff.objects.count() == 1


def test_out_of_hours_the_citizen_hears_when_people_are_back_and_may_leave_a_message(
        parent, desk_closed):
    handed = say(parent, "转人工")
    text = handed["reply"]["text"]
    back = hours.local_text(desk_closed)
    assert "现在不在人工服务时间" in text and back in text and "留言" in text
    assert card(handed, "handoff")["desk_open"] is False
    left = say(parent, "我想问问宝宝户口的事，明天回复我也行", handed["conversation_id"])
    assert "留言已保存" in left["reply"]["text"] and back in left["reply"]["text"]
    stored = Conversation.objects.get(id=handed["conversation_id"])
    assert stored.after_hours is True and stored.status == "waiting_for_staff"
    assert stored.turns[-2].text.startswith("我想问问宝宝户口的事")


def test_while_staff_hold_it_the_assistant_is_silent_and_answers_again_once_closed(
        parent, desk_open):
    handed = say(parent, "转人工")
    conversation = handed["conversation_id"]
    agent = make_agent()
    desk.claim(agent=agent, conversation_id=conversation)

    quiet = say(parent, "你好，我想问宝宝医保", conversation)
    assert quiet["reply"]["text"] == ""
    assert card(quiet, "handoff")["status"] == "with_staff"
    assert Conversation.objects.get(id=conversation).turns[-1].text == "你好，我想问宝宝医保"

    desk.close(agent=agent, conversation_id=conversation)
    answered = say(parent, "你好", conversation)
    assert answered["reply"]["text"].startswith("您好")
    assert Conversation.objects.get(id=conversation).status == "closed"


def test_the_same_answer_is_not_given_twice_in_a_row(parent):
    first = say(parent, "开个小超市要办哪些证")
    second = say(parent, "开个小超市要办哪些证", first["conversation_id"])
    assert card(first, "bundle") is not None
    assert second["reply"]["text"] != first["reply"]["text"]
    assert "转人工" in [c["label"] for c in card(second, "choices")["choices"]]


def test_the_handover_counts_the_citizens_place_in_the_regions_queue(parent, desk_open):
    first = say(make_parent(2), "转人工")
    second = say(parent, "转人工")
    assert card(first, "handoff")["position"] == 1
    assert card(second, "handoff")["position"] == 2
    assert "排在第 2 位" in second["reply"]["text"]
