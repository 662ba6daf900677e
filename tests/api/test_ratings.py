"""Ratings (好差评) through the API: a citizen rates, the department in that region answers, the
citizen hears it in their language, and the public figures move, with nobody exposed."""
import json

import pytest

from models.rating import Rating
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.helpers import make_officer
from tests.notifications.conftest import fcm  # noqa: F401 (the FCM stand-in fixture)
from tests.notifications.support import fast_worker

RECTIFICATIONS = "/api/v1/workbench/rectifications"
STATS = "/api/v1/stats/ratings"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def ratings_url(application) -> str:
    return f"/api/v1/applications/{application.id}/ratings"


def test_a_rating_of_1_reaches_the_department_whose_reply_reaches_the_citizen_and_the_figures(
        app, fcm, client):  # noqa: F811
    parent = ws.make_parent(locale="zh-CN")
    as_parent = client.as_(parent)
    as_parent.post("/api/v1/me/devices", expect=201,
                   json={"token": "phone-zh", "platform": "android", "locale": "zh-CN"})
    as_parent.post("/api/v1/me/devices", expect=201,
                   json={"token": "tablet-en", "platform": "ios", "locale": "en"})
    application = loop.finished_newborn(parent)
    police_task = application.task_for("newborn_household_registration").id
    public = {"department": "public_security", "region": "330381"}
    before = client.get(STATS, query_string=public, expect=200).get_json()

    rated = as_parent.post(ratings_url(application), expect=201, json={
        "task": police_task, "score": 1, "tags": ["had_to_run_again", "materials_asked_twice"],
        "comment": "窗口让我回家拿户口本。我的电话13812345678，身份证330381199005011234"},
        headers={"Accept-Language": "zh-CN"}).get_json()

    assert rated["score_label"] == "非常不满意"
    assert [t["label"] for t in rated["tags"]] == ["多跑了路", "材料重复提交"]
    assert rated["department"] == {"code": "public_security", "name": "公安局"}
    case = rated["rectification"]
    assert case["status"] == "open" and case["due_at"] and case["reply"] is None

    # The police officer in Ruian sees the case, the comment's numbers masked, and replies.
    police = client.as_(make_officer("public_security", region="330381"))
    cases = police.get(RECTIFICATIONS, expect=200).get_json()
    assert [c["id"] for c in cases] == [case["id"]]
    assert "138****5678" in cases[0]["comment"] and "330381********1234" in cases[0]["comment"]
    assert "13812345678" not in json.dumps(cases) and "330381199005011234" not in json.dumps(cases)
    assert "applicant" not in cases[0] and parent.name not in json.dumps(cases)
    replied = police.post(f"{RECTIFICATIONS}/{case['id']}/reply", expect=200,
                          json={"text": "已核实，今后户口本可在线核验，无需再跑。"}).get_json()
    assert replied["status"] == "replied"

    # Another region's police and another department see nothing and may do nothing.
    elsewhere = client.as_(make_officer("public_security", region="330102"))
    assert elsewhere.get(RECTIFICATIONS, expect=200).get_json() == []
    elsewhere.post(f"{RECTIFICATIONS}/{case['id']}/resolve", json={"text": "x"}, expect=404)
    client.as_(make_officer("taxation")).post(f"{RECTIFICATIONS}/{case['id']}/resolve",
                                              json={"text": "x"}, expect=404)

    # The worker delivers the reply: the inbox keeps the words, each device hears its language.
    loop.drain(fast_worker(app))
    inbox = as_parent.get("/api/v1/me/notifications?page_size=100", expect=200,
                          headers={"Accept-Language": "zh-CN"}).get_json()
    reply = next(n for n in inbox["items"] if n["type"] == "rectification_replied")
    assert reply["title"] == "公安局回复了您的评价"
    assert reply["detail"] == "公安局答复：已核实，今后户口本可在线核验，无需再跑。"
    pushes = {m["token"]: m for m in fcm.messages if m["data"]["type"] == "rectification_replied"}
    assert pushes["phone-zh"]["notification"]["title"] == "公安局回复了您的评价"
    assert pushes["tablet-en"]["notification"]["title"] == (
        "Public Security Bureau replied to your rating")
    assert "户口本" not in json.dumps(list(pushes.values()), ensure_ascii=False)

    # The citizen's own view has the reply; the public figures moved, with no one in them.
    mine = as_parent.get(ratings_url(application), expect=200).get_json()
    assert mine[0]["rectification"]["reply"]["text"].startswith("已核实")
    after = client.get(STATS, query_string=public, expect=200).get_json()
    assert after["count"] == before["count"] + 1
    assert after["by_score"]["1"] == before["by_score"]["1"] + 1
    assert after["satisfaction"] == 0.0
    assert set(after) == {"count", "by_score", "satisfaction", "department", "region", "matter"}
    assert "户口本" not in json.dumps(after, ensure_ascii=False)


def test_after_the_case_is_resolved_the_citizen_may_rate_once_more_and_no_more(client):
    parent = ws.make_parent()
    application = loop.finished_newborn(parent)
    task = application.task_for("birth_medical_certificate").id
    as_parent = client.as_(parent)
    first = as_parent.post(ratings_url(application), json={"task": task, "score": 2},
                           expect=201).get_json()
    again = as_parent.post(ratings_url(application), json={"task": task, "score": 4}, expect=409)
    assert again.get_json()["error"] == "already_rated"

    health = client.as_(make_officer("health"))
    case = first["rectification"]["id"]
    early = health.post(f"{RECTIFICATIONS}/{case}/resolve", json={"text": "done"}, expect=409)
    assert early.get_json()["error"] == "rectification_not_replied"
    health.post(f"{RECTIFICATIONS}/{case}/reply", json={"text": "Sorry for the wait"}, expect=200)
    health.post(f"{RECTIFICATIONS}/{case}/resolve", json={"text": "A second clerk now"},
                expect=200)
    assert as_parent.get(ratings_url(application)).get_json()[0]["may_rate_again"] is True

    second = as_parent.post(ratings_url(application), json={"task": task, "score": 5},
                            expect=201).get_json()
    assert second["round"] == 2 and second["rectification"] is None
    as_parent.post(ratings_url(application), json={"task": task, "score": 5}, expect=409)
    # The re-rating takes the first one's place in the figures.
    figures = client.get(STATS, query_string={"matter": "birth_medical_certificate"}).get_json()
    assert figures["count"] == 1 and figures["by_score"]["5"] == 1
    assert figures["by_score"]["2"] == 0 and figures["satisfaction"] == 1.0


def test_only_finished_work_of_ones_own_is_rated_and_bad_input_changes_nothing(client):
    parent, stranger = ws.make_parent(1), ws.make_parent(2)
    staff = loop.officers()
    application = loop.work(loop.submit_newborn(parent), staff, "birth_medical_certificate")
    as_parent = client.as_(parent)
    url = ratings_url(application)
    waiting = application.task_for("citizen_card").id

    assert as_parent.post(url, json={"task": waiting, "score": 5},
                          expect=409).get_json()["error"] == "task_not_finished"
    assert as_parent.post(url, json={"score": 5},
                          expect=409).get_json()["error"] == "application_not_finished"
    client.as_(stranger).post(url, json={"task": waiting, "score": 5}, expect=404)
    client.as_(stranger).get(url, expect=404)

    done = application.task_for("birth_medical_certificate").id
    bad = [({"task": done, "score": 6}, "score"), ({"task": done, "score": 0}, "score"),
           ({"task": done, "score": 3, "tags": ["quick"]}, "tags"),
           ({"task": "not-a-task", "score": 3}, "task"),
           ({"task": done, "score": 3, "comment": "x" * 501}, "comment"),
           ({"task": done, "score": 3, "mood": "sad"}, "mood")]
    for body, field in bad:
        answer = as_parent.post(url, json=body, expect=422).get_json()
        assert field in answer["errors"], (body, answer)
        assert set(answer) == {"code", "status", "error", "message", "errors"}
    assert Rating.objects.count() == 0
    chinese = as_parent.post(url, json={"task": done, "score": 3, "tags": ["quick"]},
                             headers={"Accept-Language": "zh-CN"}, expect=422).get_json()
    assert chinese["message"] == "部分标签不在可选范围内。"

    as_parent.post(url, json={"task": done, "score": 4, "tags": ["fast"]}, expect=201)
    assert Rating.objects.count() == 1 and Rating.objects.get().rectification is None


def test_a_finished_application_invites_its_citizen_to_rate_it_once(app, client, fcm):  # noqa: F811
    parent = ws.make_parent(locale="en")
    client.as_(parent).post("/api/v1/me/devices", expect=201,
                            json={"token": "phone", "platform": "android"})
    application = loop.finished_newborn(parent)

    assert loop.sweep()["rating_invitations"] == 1
    assert loop.sweep()["rating_invitations"] == 0
    loop.drain(fast_worker(app))

    inbox = client.as_(parent).get("/api/v1/me/notifications", expect=200).get_json()
    invitation = [n for n in inbox["items"] if n["type"] == "rating_requested"]
    assert len(invitation) == 1 and invitation[0]["application"] == str(application.id)
    assert invitation[0]["title"] == "How did it go?"
    assert [m["notification"]["title"] for m in fcm.messages
            if m["data"]["type"] == "rating_requested"] == ["How did it go?"]
    # The whole application may now be rated too, once.
    client.as_(parent).post(ratings_url(application), json={"score": 5}, expect=201)
    client.as_(parent).post(ratings_url(application), json={"score": 5}, expect=409)


def test_the_public_figures_take_filters_and_refuse_malformed_ones(client):
    empty = client.get(STATS, expect=200).get_json()
    assert empty["count"] == 0 and empty["satisfaction"] is None
    assert empty["by_score"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    wrong = client.get(STATS, query_string={"region": "Ruian"}, expect=422).get_json()
    assert "region" in wrong["errors"]
    unknown = client.get(STATS, query_string={"department": "police"}, expect=422).get_json()
    assert "department" in unknown["errors"]
    assert client.get(STATS, query_string={"department": "public_security"},
                      expect=200).get_json()["count"] == 0
