"""The optional rewording of grounded answers: only wording may change, and any failure means
the grounded answer is said as it was. Against a real HTTP server on 127.0.0.1."""
import pytest

from assistant import llm
from standins.chat_completions import ChatStandin
from tests.assistant.conversation_support import newborn_family, say

GROUNDED = "新生儿出生一件事：一次申请办结 7 个事项，涉及 6 个部门。"


def _config(standin, **changes):
    return {"ASSISTANT_LLM_ENABLED": True, "ASSISTANT_LLM_BASE_URL": standin.url + "/v1",
            "ASSISTANT_LLM_MODEL": "qwen-small", "ASSISTANT_LLM_API_KEY": "k-123",
            "ASSISTANT_LLM_TIMEOUT": 2.0, **changes}


def test_it_is_off_unless_configured(app):
    assert app.config["ASSISTANT_LLM_ENABLED"] is False
    assert llm.rephrase(GROUNDED, "zh-CN", app.config) == GROUNDED


def test_a_rewording_that_keeps_every_fact_is_used():
    with ChatStandin(reply=lambda text: "您好！" + text) as standin:
        said = llm.rephrase(GROUNDED, "zh-CN", _config(standin))
    assert said == "您好！" + GROUNDED
    request = standin.requests[0]
    assert request["model"] == "qwen-small" and request["temperature"] == 0
    assert request["messages"][-1]["content"] == GROUNDED
    assert standin.headers[0]["Authorization"] == "Bearer k-123"


@pytest.mark.parametrize("reworded", [
    GROUNDED.replace("7 个", "8 个"),           # a number changed
    GROUNDED + "办理需缴费 50 元。",               # a fact added
    GROUNDED.replace("涉及 6 个部门", "涉及多个部门"),  # a number dropped
    "",
])
def test_a_rewording_that_changes_a_fact_is_thrown_away(reworded):
    with ChatStandin(reply=lambda text: reworded) as standin:
        assert llm.rephrase(GROUNDED, "zh-CN", _config(standin)) == GROUNDED


def test_an_unavailable_or_slow_service_changes_nothing():
    with ChatStandin(status=503) as standin:
        assert llm.rephrase(GROUNDED, "zh-CN", _config(standin)) == GROUNDED
    with ChatStandin(delay=1.0) as standin:
        assert llm.rephrase(GROUNDED, "zh-CN", _config(standin, ASSISTANT_LLM_TIMEOUT=0.2)) \
            == GROUNDED


def test_the_assistant_says_the_rewording_and_keeps_its_cards(app):
    parent = newborn_family()
    with ChatStandin(reply=lambda text: "Sure! " + text) as standin:
        app.config.update(_config(standin))
        try:
            answer = say(parent, "what documents do I need for the newborn registration?")
        finally:
            app.config.update(ASSISTANT_LLM_ENABLED=False, ASSISTANT_LLM_BASE_URL="")
    assert answer["reply"]["text"].startswith("Sure! ")
    assert [c["type"] for c in answer["reply"]["cards"]] == ["checklist", "buttons"]
