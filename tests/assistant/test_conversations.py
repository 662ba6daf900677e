"""Whole conversations, as citizens talk, played through the real service by the conversation
runner (assistant/eval/runner.py): each of the cases that went wrong reaches its goal, and the
runner itself tells a conversation that misses its goal from one that reaches it."""
import pytest

from assistant import knowledge
from assistant.eval import runner
from tests.workflow_support import load_catalogue

OWN = runner.load(runner.OWN_FILE)
IDS = [c["id"] for c in OWN["conversations"]]


@pytest.fixture(autouse=True)
def catalogue():
    knowledge.forget()
    load_catalogue()


def _played(conversation: dict):
    return runner.play(conversation, OWN.get("defaults") or {}, next(runner._serials))


def _explain(result) -> str:
    return "\n".join(runner.Report([result]).lines(verbose=True))


@pytest.mark.parametrize("conversation_id", IDS)
def test_each_conversation_that_went_wrong_now_reaches_its_goal(conversation_id):
    conversation = next(c for c in OWN["conversations"] if c["id"] == conversation_id)
    result = _played(conversation)
    assert result.passed, _explain(result)


def test_a_turn_that_misses_its_expectation_is_counted_wrong_and_the_goal_missed():
    conversation = {"id": "X1", "title": "a greeting is not a status answer",
                    "citizen": "verified",
                    "success": {"checks": [{"applications_total": 1}]},
                    "turns": [{"say": "你好", "expect": {"status_cards": 1,
                                                        "greeting_menu": False}},
                              {"say": "谢谢", "expect": {"application_created": False}}]}
    result = _played(conversation)
    report = runner.Report([result])

    assert not result.passed
    assert [len(t.failures) for t in result.turns] == [2, 0], _explain(result)
    assert result.success_failures == ["applications_total: expected 1, got 0"]
    assert report.goal_share == 0.0 and report.wrong_turn_share == 0.5


def test_a_fill_that_cannot_answer_stops_the_conversation_and_counts_what_was_not_played():
    conversation = {"id": "X2", "title": "no answers for the form", "citizen": "verified",
                    "turns": [{"say": "我要办企业注销"}, {"fill": {"until": "summary"}},
                              {"say": "确认提交"}]}
    result = runner.play(conversation, {}, next(runner._serials))

    assert not result.passed and result.unplayed == 1
    assert "no answer for company_name" in result.turns[-1].failures[0]
    assert runner.Report([result]).wrong_turn_share == pytest.approx(2 / 3)


def test_an_unknown_check_fails_rather_than_passing_silently():
    conversation = {"id": "X3", "title": "a typo in a check", "citizen": "new",
                    "turns": [{"say": "你好", "expect": {"greting_menu": True}}]}
    result = _played(conversation)
    assert result.turns[0].failures == ["greting_menu: unknown check"]


def test_the_runner_reads_the_shared_file_when_it_exists(tmp_path, monkeypatch):
    shared = tmp_path / "conversations.yaml"
    monkeypatch.setattr(runner, "SHARED_FILE", shared)
    assert runner.default_file() == runner.OWN_FILE
    shared.write_text("format: 1\nconversations: []\n", encoding="utf-8")
    assert runner.default_file() == shared
    assert runner.run_file().results == []


def test_the_figures_of_the_own_file_meet_the_targets():
    report = runner.run_file(runner.OWN_FILE)
    assert report.meets_targets, "\n".join(report.lines())
    assert report.goal_share == 1.0 and report.wrong_turn_share == 0.0
