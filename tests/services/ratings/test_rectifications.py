"""Rating rules in the service: due dates in working days, overdue cases, notices forwarded and
figures counted once whatever dies in between, comments masked for officers."""
from datetime import timedelta

import pytest

from models.application import Application
from models.base import utcnow
from models.figures import FigureBucket
from models.notification import Notification
from models.rating import Rating
from notifications import relay
from services.ratings import figures, ratings, rectifications
from services.workflow import deadlines
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.helpers import make_officer


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def low_rating(parent):
    application = loop.finished_newborn(parent)
    task = application.task_for("newborn_household_registration").id
    return ratings.rate(application_id=str(application.id), citizen=parent, task=task, score=2,
                        tags=["slow"], comment="Call me on 13812345678 or 138 1234 5678")


def test_a_low_rating_is_due_in_the_configured_working_days(low_rating):
    case = low_rating.rectification
    assert case.due_at == deadlines.due_at(start=low_rating.created_at,
                                           limit={"value": 15, "unit": "working_days"})
    assert case.due_at - low_rating.created_at >= timedelta(days=15)
    assert (case.department, case.region) == ("public_security", "330381")


def test_scores_above_two_open_no_case(parent):
    application = loop.finished_newborn(parent)
    task = application.task_for("citizen_card").id
    rated = ratings.rate(application_id=str(application.id), citizen=parent, task=task, score=3)
    assert rated.rectification is None


def test_overdue_cases_are_flagged_once_and_resolved_ones_never(low_rating):
    Rating.objects(id=low_rating.id).update(
        set__rectification__due_at=utcnow() - timedelta(minutes=1))

    assert rectifications.mark_overdue() == 1
    assert rectifications.mark_overdue() == 0
    assert Rating.objects.get(id=low_rating.id).rectification.overdue is True


def test_officers_read_the_comment_with_personal_numbers_masked(low_rating):
    officer = make_officer("public_security")
    items, total = rectifications.officer_cases(officer=officer)
    assert total == 1
    assert items[0]["comment"] == "Call me on 138****5678 or 138****5678"
    assert ratings.comment_of(low_rating) == "Call me on 13812345678 or 138 1234 5678"
    assert "13812345678" not in str(Rating._get_collection().find_one())  # encrypted at rest


def test_a_reply_whose_forward_died_is_forwarded_by_the_sweep_and_told_once(low_rating,
                                                                            monkeypatch):
    officer = make_officer("public_security")
    with monkeypatch.context() as dying:
        dying.setattr(rectifications, "forward", lambda rating: 0)  # dies after its write
        rectifications.reply(case_id=low_rating.rectification.id, officer=officer,
                             text="We are sorry")
    assert Rating.objects.get(id=low_rating.id).outbox
    assert rectifications.forward_pending(grace=60) == 0  # not before the grace

    later = utcnow() + timedelta(minutes=5)
    assert rectifications.forward_pending(now=later, grace=60) == 1
    assert rectifications.forward_pending(now=later, grace=60) == 0
    relay.relay_pending()
    # Forwarded twice (a second sweeper raced the first): stored once all the same.
    intent = Notification.objects.get(type="rectification_replied")
    Application.objects(id=low_rating.application).update(
        __raw__={"$push": {"outbox": {"$each": [{"id": intent.id, "type": intent.type,
                                                 "recipient": intent.recipient}]}},
                 "$set": {"outbox_pending": True}})
    relay.relay_pending()
    assert Notification.objects(type="rectification_replied").count() == 1


def test_a_rating_is_counted_once_however_often_its_count_is_tried(low_rating):
    figures.count(low_rating)
    figures.count(low_rating)
    Rating.objects(id=low_rating.id).update(set__counted=False)
    assert figures.count_uncounted(now=utcnow() + timedelta(minutes=5)) == 1

    public = figures.public_figures(department="public_security")
    assert public["count"] == 1 and public["by_score"]["2"] == 1
    assert figures.public_figures(region="330102")["count"] == 0
    assert FigureBucket.objects.count() > 0


def test_resolved_cases_listed_are_those_of_the_last_days_found_on_their_own_index(
        app, low_rating):
    officer = make_officer("public_security")
    rectifications.reply(case_id=low_rating.rectification.id, officer=officer, text="已核实")
    rectifications.resolve(case_id=low_rating.rectification.id, officer=officer, text="已整改")
    assert [c["id"] for c in rectifications.officer_cases(officer=officer, status="resolved")[0]
            ] == [low_rating.rectification.id]
    plan = Rating.objects(__raw__={
        "rectification.department": "public_security", "rectification.region": "330381",
        "rectification.status": "resolved",
        "rectification.resolution.at": {"$gte": rectifications.resolved_since()}}).explain()
    assert "resolved_latest" in str(plan["queryPlanner"]["winningPlan"])

    long_ago = utcnow() - timedelta(days=app.config["RECTIFICATIONS_RESOLVED_DAYS"] + 1)
    Rating._get_collection().update_one({"_id": low_rating.pk},
                                        {"$set": {"rectification.resolution.at": long_ago}})

    assert rectifications.officer_cases(officer=officer, status="resolved") == ([], 0)
