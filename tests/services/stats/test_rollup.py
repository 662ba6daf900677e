"""The reform figures' roll-up: each application counted once, whatever runs twice or dies half
way; periods split into few buckets; percentiles from the histogram."""
from datetime import date, timedelta

import pytest

from models import figures as figures_model
from models.application import Application, FollowUp
from models.base import utcnow
from models.figures import FigureBatch, FigureBucket
from services.stats import reform, rollup
from services.workflow import handling, supplements
from tests import loop_support as loop
from tests import workflow_support as ws


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def figures(**filters) -> dict:
    return reform.reform_figures(bundle="newborn", **filters)


def test_submitting_and_finishing_queue_the_follow_ups_in_their_own_writes(parent):
    application = loop.submit_newborn(parent)
    assert application.follow_ups == [FollowUp.FIGURES_SUBMITTED]
    finished = loop.finish(application, loop.officers())
    assert set(finished.follow_ups) == {FollowUp.FIGURES_SUBMITTED, FollowUp.FIGURES_FINISHED,
                                        FollowUp.RATING_INVITATION}


def test_each_application_is_counted_once_however_often_the_sweep_runs(parent):
    loop.finished_newborn(parent)
    loop.submit_newborn(parent)

    assert rollup.roll_up() == 2
    assert rollup.roll_up() == 0
    counted = figures()
    assert (counted["applications"], counted["completed"]) == (2, 1)
    assert counted["forms_saved"] == 4 and counted["materials_saved"] == 20
    assert counted["trips_saved"] == 6
    assert not Application.objects(follow_ups__in=list(rollup.TAGS)).count()


def test_a_batch_its_process_left_half_done_is_finished_without_counting_twice(parent,
                                                                                monkeypatch):
    loop.finished_newborn(parent)
    add_once = figures_model.add_once

    def dies_after_adding(batch, deltas):
        add_once(batch, deltas)
        raise RuntimeError("process killed")

    with monkeypatch.context() as dying:
        dying.setattr(figures_model, "add_once", dies_after_adding)
        with pytest.raises(RuntimeError):
            rollup.roll_up()
    assert figures()["completed"] == 1
    assert FigureBatch.objects(done=False).count() == 1

    assert rollup.roll_up() == 0  # within the grace: left for its own process
    assert rollup.recover(now=utcnow() + timedelta(minutes=10)) == 1
    assert figures()["completed"] == 1 and figures()["applications"] == 1
    assert FigureBatch.objects(done=False).count() == 0
    assert rollup.recover(now=utcnow() + timedelta(minutes=10)) == 0


def test_a_batch_an_older_version_left_half_done_is_found_without_its_ids(parent, monkeypatch):
    loop.finished_newborn(parent)
    with monkeypatch.context() as dying:
        dying.setattr(figures_model, "add_once", lambda batch, deltas: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            rollup.roll_up()
    FigureBatch.objects(done=False).update(unset__applications=True)  # as it was written then

    assert rollup.recover(now=utcnow() + timedelta(minutes=10)) == 1
    assert figures()["completed"] == 1 and figures()["applications"] == 1


def test_a_rejected_application_counts_as_finished_and_supplements_are_shared(parent):
    staff = loop.officers()
    application = loop.submit_newborn(parent)
    task = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=task.id, officer=staff["health"])
    supplements.request_supplement(task_id=task.id, officer=staff["health"],
                                   materials=["birth_registration_form"], reason="stamp")
    other = loop.finished_newborn(ws.make_parent(7), staff)
    vaccination = application.task_for("vaccination_certificate")
    handling.claim_task(task_id=vaccination.id, officer=staff["community_health"])
    handling.reject_task(task_id=vaccination.id, officer=staff["community_health"],
                         reason="Not registered here")
    rollup.roll_up()

    counted = figures()
    assert (counted["applications"], counted["completed"], counted["rejected"]) == (2, 1, 1)
    assert counted["supplement_share"] == 0.5
    assert other.status == "completed"


def test_a_period_is_a_few_years_months_and_days():
    assert reform.periods(date(2025, 12, 30), date(2027, 2, 2)) == [
        ("day", "2025-12-30"), ("day", "2025-12-31"), ("year", "2026"), ("month", "2027-01"),
        ("day", "2027-02-01"), ("day", "2027-02-02")]
    assert reform.periods(date(2026, 3, 1), date(2026, 3, 31)) == [("month", "2026-03")]
    # At most the whole years, eleven months and thirty days at each end.
    assert len(reform.periods(date(2000, 1, 1), date(2026, 12, 6))) == 26 + 11 + 6


def test_percentiles_and_bins_of_minutes_to_complete():
    assert [rollup.minutes_bin(m) for m in (0, 0.2, 41.5, 120, 121, 1441, 50000)] == [
        1, 1, 42, 120, 130, 1500, 50400]
    histogram = {"10": 5, "40": 4, "90": 1}
    assert reform.percentile(histogram, 0.5) == 10
    assert reform.percentile(histogram, 0.9) == 40
    assert reform.percentile({}, 0.5) is None


def test_a_period_outside_the_history_is_empty_and_bad_filters_are_refused(parent):
    loop.finished_newborn(parent)
    rollup.roll_up()
    assert figures(from_=date(2001, 1, 1), to=date(2001, 12, 31))["applications"] == 0
    assert figures(region="330102")["applications"] == 0
    assert reform.reform_figures()["applications"] == 1
    with pytest.raises(Exception) as refused:
        reform.reform_figures(bundle="no_such_bundle")
    assert "bundle" in refused.value.errors
    with pytest.raises(Exception) as refused:
        figures(from_=date(2026, 2, 1), to=date(2026, 1, 1))
    assert "from" in refused.value.errors
    assert FigureBucket.objects.count() > 0
