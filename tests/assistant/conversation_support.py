"""Talking to the assistant in tests: say something, answer the questions it asks."""
from assistant import conversations as assistant
from assistant import knowledge
from services.identity.tokens import Principal
from tests.helpers import make_material
from tests.workflow_support import NEWBORN_MATERIALS, load_catalogue, make_parent

# How a parent answers each question of the newborn joint form, in each language.
NEWBORN_ANSWERS = {
    "en": {"newborn_name": "Zhou Xiaoyu", "newborn_gender": "girl",
           "newborn_birth_date": "yesterday", "newborn_birth_time": "7:45",
           "birth_hospital": "Ruian People's Hospital", "birth_weight_grams": "3.3kg",
           "relation_to_newborn": "father", "residence_address": "1 Wansong Road",
           "newborn_ethnicity": "Han", "household_address": "1 Wansong Road, Ruian",
           "premium_payment_method": "direct debit", "bank_account": "6222 0202 0011 2233 445",
           "bank_name": "ICBC", "delivery_type": "natural birth"},
    "zh-CN": {"newborn_name": "周小雨", "newborn_gender": "女孩", "newborn_birth_date": "昨天",
              "newborn_birth_time": "早上7点45", "birth_hospital": "瑞安市人民医院",
              "birth_weight_grams": "6.6斤", "relation_to_newborn": "爸爸",
              "residence_address": "万松路1号", "newborn_ethnicity": "汉族",
              "household_address": "瑞安市万松路1号", "premium_payment_method": "银行代扣",
              "bank_account": "6222020200112233445", "bank_name": "工商银行",
              "delivery_type": "顺产"},
}


def principal(user) -> Principal:
    """Who is talking, as the API hands it to the service."""
    return Principal(id=str(user.id), role=user.role, locale=user.locale)


def say(user, text: str, conversation: str | None = None, **kwargs) -> dict:
    return assistant.post_message(citizen=principal(user), text=text,
                                  conversation_id=conversation, **kwargs)


def card(answer: dict, kind: str) -> dict | None:
    return next((c for c in answer["reply"]["cards"] if c["type"] == kind), None)


def asked_field(answer: dict) -> str | None:
    question = card(answer, "question")
    return question["field"] if question else None


def answer_questions(user, answer: dict, locale: str = "en", **overrides) -> dict:
    """Answer every question until the summary; returns the last answer."""
    values = {**NEWBORN_ANSWERS[locale], **overrides}
    for _ in range(40):
        field = asked_field(answer)
        if field is None:
            return answer
        answer = say(user, values[field], answer["conversation_id"])
    raise AssertionError("the questions never ended")


def newborn_family(materials=NEWBORN_MATERIALS):
    """The seeded catalogue and a verified parent with a spouse and the given materials."""
    knowledge.forget()
    load_catalogue()
    parent = make_parent()
    for kind in materials:
        make_material(parent, kind)
    return parent


def to_summary(user, locale: str = "en") -> dict:
    """From "I just had a baby" to the summary awaiting an explicit yes."""
    opening = "I just had a baby" if locale == "en" else "我刚生了孩子"
    first = say(user, opening)
    started = say(user, "apply now" if locale == "en" else "帮我办理", first["conversation_id"])
    return answer_questions(user, started, locale)
