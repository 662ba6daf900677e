"""The dialogue paths: explore → materials → apply → confirm → submitted; deny; status; handoff;
clarification; privacy. Through the service, against the real catalogue and workflow."""
from datetime import date

import pytest

from assistant import conversations as assistant
from assistant import knowledge, nlu
from models.application import Application
from models.conversation import Conversation
from models.handoff import Handoff
from services.errors import InvalidState
from services.identity import numbers
from services.workflow import applications, handling, supplements
from tests.assistant.conversation_support import (
    NEWBORN_ANSWERS,
    answer_questions,
    asked_field,
    card,
    newborn_family,
    say,
    to_summary,
)
from tests.helpers import make_citizen, make_family_member, make_material, make_officer
from tests.workflow_support import NEWBORN_MATERIALS, load_catalogue, outputs_for


@pytest.fixture
def parent():
    return newborn_family()


def test_a_new_parent_goes_from_a_baby_to_a_submitted_application(parent):
    summary = to_summary(parent)
    assert card(summary, "summary")["materials_missing"] == []
    assert Application.objects.count() == 0  # nothing is sent before an explicit yes

    done = say(parent, "confirm", summary["conversation_id"])

    application = Application.objects.get()
    assert application.applicant == str(parent.id)
    assert application.channel == "assistant"
    assert applications.subject_name(application) == "Zhou Xiaoyu"
    assert application.form["birth_weight_grams"] == 3300
    assert application.form["newborn_birth_time"] == "07:45"
    assert done["nlu"]["intent"] == "confirm"
    assert str(application.id) in done["reply"]["text"]
    status = card(done, "status")
    assert status["application_id"] == str(application.id)
    working = {d["code"] for d in status["departments"] if d["status"] == "in_progress"}
    assert working == {"health", "community_health"}


def test_exploring_a_life_event_states_the_catalogue_facts(parent):
    answer = say(parent, "我老婆前几天生了二胎，手续怎么办")
    assert answer["nlu"]["intent"] == "explore_bundle"
    assert answer["nlu"]["bundle"] == "newborn"
    bundle = card(answer, "bundle")
    assert len(bundle["matters"]) == 7 and len(bundle["departments"]) == 6
    assert "7 个事项" in answer["reply"]["text"] and "6 个部门" in answer["reply"]["text"]
    assert "公安局" in answer["reply"]["text"]


def test_the_checklist_shows_what_is_already_on_file_for_this_citizen():
    parent = newborn_family(materials=NEWBORN_MATERIALS[:2])
    answer = say(parent, "新生儿出生一件事要带哪些材料")
    items = {i["code"]: i["status"] for i in card(answer, "checklist")["items"]}
    assert items == {"parent_id_card": "on_file", "household_register": "on_file",
                     "marriage_certificate": "needed", "birth_registration_form": "needed"}
    assert "结婚证" in answer["reply"]["text"]


def test_prefilled_answers_are_not_asked(parent):
    started = say(parent, "I want to apply for the newborn one thing")
    asked = [asked_field(started)]
    answer = started
    for _ in range(30):
        answer = say(parent, {"newborn_birth_date": "yesterday"}.get(asked[-1], "1"),
                     answer["conversation_id"])
        if asked_field(answer) in (None, asked[-1]):
            break
        asked.append(asked_field(answer))
    assert not {"applicant_name", "applicant_id_number", "spouse_name", "contact_phone"} & set(
        asked)


def test_a_yes_repeated_after_submitting_never_applies_twice(parent):
    summary = to_summary(parent)
    conversation = summary["conversation_id"]
    say(parent, "confirm", conversation)
    again = say(parent, "yes", conversation)
    assert Application.objects.count() == 1
    assert "already submitted" in again["reply"]["text"]


def test_a_confirmation_replayed_after_its_reply_was_lost_finds_the_same_application(parent):
    summary = to_summary(parent)
    conversation = summary["conversation_id"]
    collection = Conversation._get_collection()
    before = collection.find_one({"_id": Conversation.objects.get(id=conversation).id})
    first = say(parent, "confirm", conversation)
    collection.replace_one({"_id": before["_id"]}, before)  # as if the turn was never stored

    replayed = say(parent, "confirm", conversation)

    application = Application.objects.get()
    assert card(first, "status")["application_id"] == str(application.id)
    assert card(replayed, "status")["application_id"] == str(application.id)


def test_saying_no_at_the_summary_submits_nothing(parent):
    summary = to_summary(parent, locale="zh-CN")
    answer = say(parent, "不要提交", summary["conversation_id"])
    assert Application.objects.count() == 0
    assert "没有提交" in answer["reply"]["text"]
    stored = Conversation.objects.get(id=summary["conversation_id"])
    assert stored.state == "idle" and stored.answers == {} and stored.answers_protected == {}


def test_cancelling_in_the_middle_of_the_form_forgets_the_answers(parent):
    started = say(parent, "帮我办新生儿出生一件事")
    conversation = started["conversation_id"]
    say(parent, "周小雨", conversation)
    answer = say(parent, "取消", conversation)
    assert answer["nlu"]["intent"] == "deny"
    assert Conversation.objects.get(id=conversation).answers == {}
    assert Application.objects.count() == 0


def test_an_answer_the_form_refuses_is_asked_again_with_the_reason(parent):
    answer = say(parent, "apply for the newborn bundle")
    conversation = answer["conversation_id"]
    while asked_field(answer) != "birth_weight_grams":
        field = asked_field(answer)
        answer = say(parent, {"newborn_birth_date": "yesterday", "newborn_gender": "boy",
                              "newborn_birth_time": "8:00"}.get(field, "x"), conversation)
    refused = say(parent, "100 g", conversation)
    assert asked_field(refused) == "birth_weight_grams"
    assert "at least 300" in refused["reply"]["text"]


def test_a_correction_at_the_summary_changes_that_answer(parent):
    summary = to_summary(parent, locale="zh-CN")
    answer = say(parent, "把出生时间改成8点10分", summary["conversation_id"])
    rows = {r["name"]: r["value"] for r in card(answer, "summary")["fields"]}
    assert rows["newborn_birth_time"] == "08:10"
    say(parent, "确认提交", summary["conversation_id"])
    assert Application.objects.get().form["newborn_birth_time"] == "08:10"


def test_asking_to_change_something_at_the_summary_offers_the_answers_to_change(parent):
    summary = to_summary(parent)
    conversation = summary["conversation_id"]
    offered = say(parent, "I need to change something", conversation)
    labels = [c["label"] for c in card(offered, "choices")["choices"]]
    picked = say(parent, str(labels.index("Bank") + 1), conversation)
    assert asked_field(picked) == "bank_name"
    back = say(parent, "Bank of China", conversation)
    rows = {r["name"]: r["value"] for r in card(back, "summary")["fields"]}
    assert rows["bank_name"] == "Bank of China"


def test_a_question_in_the_middle_of_the_form_is_answered_and_the_form_resumes(parent):
    started = say(parent, "帮我办新生儿出生一件事")
    pending = asked_field(started)
    answer = say(parent, "办这个要交钱吗？", started["conversation_id"])
    assert card(answer, "faq")["id"] == "fees"
    assert asked_field(answer) == pending


def test_status_names_departments_done_working_and_waiting(parent):
    summary = to_summary(parent, locale="zh-CN")
    say(parent, "确认", summary["conversation_id"])
    application = Application.objects.get()
    health = make_officer("health")
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=health)
    handling.complete_task(task_id=task.id, officer=health,
                           outputs=outputs_for("birth_medical_certificate"))

    answer = say(parent, "我的出生一件事办到哪了")
    assert answer["nlu"]["intent"] == "check_status"
    states = {d["code"]: d["status"] for d in card(answer, "status")["departments"]}
    assert states["health"] == "done"
    assert states["public_security"] == "in_progress"
    assert states["hrss"] == "waiting"
    text = answer["reply"]["text"]
    assert "已办结：卫生健康局" in text
    assert "正在办理" in text and "公安局" in text
    assert "等待城乡居民基本医疗保险参保登记完成" in text
    assert "预计" in text


def test_status_tells_the_citizen_what_a_supplement_asks(parent):
    summary = to_summary(parent)
    say(parent, "confirm", summary["conversation_id"])
    application = Application.objects.get()
    health = make_officer("health")
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=health)
    supplements.request_supplement(task_id=task.id, officer=health,
                                materials=["birth_registration_form"], fields=[],
                                reason="The form is not signed")

    answer = say(parent, "where is my application?")
    status = card(answer, "status")
    assert status["status"] == "needs_supplement"
    assert status["actions"] == [{"action": "supplement", "application_id": str(application.id)}]
    assert "The form is not signed" in answer["reply"]["text"]
    assert "Birth registration service form" in answer["reply"]["text"]


def test_another_citizens_application_is_never_revealed(parent):
    summary = to_summary(parent)
    say(parent, "confirm", summary["conversation_id"])
    theirs = str(Application.objects.get().id)
    stranger = make_citizen()

    by_number = say(stranger, f"what is the status of {theirs}")
    in_general = say(stranger, "where is my application?")

    assert "no application" in by_number["reply"]["text"].lower()
    assert card(by_number, "status") is None and card(in_general, "status") is None
    assert "A baby is born" not in by_number["reply"]["text"] + in_general["reply"]["text"]


def test_asking_for_a_person_creates_one_handoff_staff_can_see(parent):
    started = say(parent, "帮我办新生儿出生一件事")
    conversation = started["conversation_id"]
    pending = asked_field(started)
    first = say(parent, "转人工", conversation)
    again = say(parent, "我要人工客服", conversation)

    handoff = Handoff.objects.get()
    assert card(first, "handoff")["handoff_id"] == str(handoff.id) == card(
        again, "handoff")["handoff_id"]
    assert handoff.citizen == str(parent.id) and handoff.bundle == "newborn"
    assert "public_security" in handoff.departments
    assert "人工" in first["reply"]["text"]
    assert asked_field(first) == pending  # the application is kept
    assert [h.id for h in assistant.list_handoffs(staff=make_officer("public_security"))] == [
        handoff.id]


def test_an_unclear_message_gets_a_short_question_with_choices(parent, monkeypatch):
    unsure = nlu.Understanding("ask_materials", "newborn", 0.31, "那个证", "zh-CN", None,
                               (("ask_materials", 0.31), ("explore_bundle", 0.3),
                                ("check_status", 0.2)))
    monkeypatch.setattr(nlu.Understander, "understand", lambda self, text: unsure)
    answer = say(parent, "那个证")
    monkeypatch.undo()
    choices = card(answer, "choices")["choices"]
    assert [c["label"] for c in choices] == ["新生儿出生一件事需要的材料", "了解新生儿出生一件事",
                                             "查询办件进度", "转人工"]
    picked = say(parent, str(len(choices)), answer["conversation_id"])
    assert picked["nlu"]["intent"] == "handoff_human"
    assert Handoff.objects.count() == 1


def test_the_conversation_continues_in_another_process(parent):
    started = say(parent, "帮我办新生儿出生一件事")
    conversation = started["conversation_id"]
    say(parent, "周小雨", conversation)
    knowledge.forget()  # nothing this process kept in memory is needed to go on
    answer = say(parent, "女", conversation)
    stored = Conversation.objects.get(id=conversation)
    assert stored.answers == {"newborn_name": "周小雨", "newborn_gender": "female"}
    assert asked_field(answer) == stored.pending_field != "newborn_gender"


def test_id_numbers_are_masked_in_the_transcript_and_encrypted_in_the_draft():
    knowledge.forget()
    load_catalogue()
    parent = make_citizen(name="New parent")  # no verified ID, no spouse: both are asked
    for kind in NEWBORN_MATERIALS:
        make_material(parent, kind)
    answer = say(parent, "帮我办新生儿出生一件事")
    conversation = answer["conversation_id"]
    typed = numbers.make_id_number("330381", date(1990, 5, 1), 123, "male")
    for _ in range(30):
        if asked_field(answer) == "applicant_id_number":
            break
        answer = say(parent, NEWBORN_ANSWERS["zh-CN"].get(asked_field(answer), "张三"),
                     conversation)
    say(parent, f"我的身份证号是{typed}", conversation)

    stored = Conversation.objects.get(id=conversation)
    assert "applicant_id_number" in stored.answers_protected
    assert typed not in str(stored.to_mongo())
    assert any(f"330381********{typed[-4:]}" in (t.text or "") for t in stored.turns)


def test_replies_follow_the_language_of_the_message(parent):
    chinese = say(parent, "你好")
    english = say(parent, "hello, what can you do?", chinese["conversation_id"])
    forced = say(parent, "你好", chinese["conversation_id"], locale="en")
    assert "您好" in chinese["reply"]["text"]
    assert "Hello" in english["reply"]["text"]
    assert "Hello" in forced["reply"]["text"]


def test_a_turn_computed_from_a_stale_state_loses(parent):
    first = say(parent, "你好")
    stale = assistant._conversation(first["conversation_id"], str(parent.id))
    say(parent, "谢谢", first["conversation_id"])
    with pytest.raises(InvalidState):
        assistant._store(stale, [], stale.version, is_new=False)


def test_out_of_scope_says_what_the_assistant_can_do(parent):
    answer = say(parent, "帮我订一张去北京的机票")
    assert answer["nlu"]["intent"] == "out_of_scope"
    assert "新生儿出生一件事" in answer["reply"]["text"]
    assert card(answer, "choices")


def test_a_general_question_is_answered_from_the_curated_entries(parent):
    answer = say(parent, "Can I withdraw after I have submitted?")
    assert answer["nlu"]["intent"] == "faq"
    assert card(answer, "faq")["id"] == "withdraw"
    assert "until any department has finished" in answer["reply"]["text"]


def test_a_child_already_in_the_family_is_offered_for_kindergarten(parent):
    make_family_member(parent, "child", name="Xiaoming")
    answer = say(parent, "apply for kindergarten admission")
    labels = [c["label"] for c in card(answer, "choices")["choices"]]
    assert labels[0] == "Xiaoming"
    chosen = say(parent, "1", answer["conversation_id"])
    assert Conversation.objects.get(id=answer["conversation_id"]).subject["name"] == "Xiaoming"
    assert asked_field(chosen) is not None or card(chosen, "summary") is not None


def test_the_whole_form_can_be_answered_in_chinese(parent):
    summary = to_summary(parent, locale="zh-CN")
    rows = {r["name"]: r["value"] for r in card(summary, "summary")["fields"]}
    assert rows["newborn_gender"] == "女" and rows["birth_weight_grams"] == 3300
    assert rows["bank_account"] != "6222020200112233445"  # masked
    assert "确认提交" in summary["reply"]["text"]


def test_answering_questions_helper_reaches_the_summary(parent):
    started = say(parent, "apply for the newborn bundle")
    assert card(answer_questions(parent, started), "summary") is not None
