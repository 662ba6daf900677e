import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common import db_metrics
from models.application import Application
from models.handling_time import HandlingTime
from services.workflow import deadlines, handling_times

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 3, 6, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


@pytest.fixture(autouse=True)
def fresh_medians():
    deadlines.clear_cache()
    yield
    deadlines.clear_cache()


def minutes(n):
    return {"value": n, "unit": "minutes"}


# A small newborn-shaped graph: two certificates at once, registration after the birth
# certificate, insurance after registration.
DEFINITION = {"code": "newborn", "version": 1, "steps": [
    {"matter": "birth_medical_certificate", "depends_on": [], "promised": minutes(30)},
    {"matter": "vaccination_certificate", "depends_on": [], "promised": minutes(20)},
    {"matter": "newborn_household_registration", "depends_on": ["birth_medical_certificate"],
     "promised": minutes(15)},
    {"matter": "medical_insurance_enrolment", "depends_on": ["newborn_household_registration"],
     "promised": {"value": 1, "unit": "hours"}},
]}


def tasks_at_submission(released_at=NOW, region=None, promised=None):
    tasks = []
    for step in DEFINITION["steps"]:
        ready = not step["depends_on"]
        tasks.append({"id": uuid.uuid4().hex, "matter": step["matter"],
                      "depends_on": step["depends_on"],
                      "status": "pending" if ready else "waiting",
                      "released_at": released_at if ready else None,
                      "region": region, "promised": (promised or {}).get(step["matter"])})
    return tasks


def task_of(tasks, matter):
    return next(t for t in tasks if t["matter"] == matter)


def completed_history(matter, handling_minutes, *, completed_at=NOW - timedelta(days=1),
                      region="330381"):
    """Past applications in which the matter took the given times to handle in a region."""
    for handled in handling_minutes:
        Application(applicant="someone", bundle="newborn", bundle_version=1, status="completed",
                    tasks=[{"id": uuid.uuid4().hex, "matter": matter, "department": "health",
                            "region": region, "status": "completed",
                            "completed_at": completed_at,
                            "released_at": completed_at - timedelta(minutes=handled)}]).save()


def test_minutes_and_hours_run_on_the_clock_even_on_a_sunday():
    sunday = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)
    assert deadlines.due_at(start=sunday, limit=minutes(15)) == sunday + timedelta(minutes=15)
    assert (deadlines.due_at(start=sunday, limit={"value": 2, "unit": "hours"})
            == sunday + timedelta(hours=2))


def test_working_days_skip_the_weekend_and_end_with_the_local_day():
    friday_afternoon = datetime(2024, 3, 8, 15, 0, tzinfo=SHANGHAI)
    due = deadlines.due_at(start=friday_afternoon, limit={"value": 2, "unit": "working_days"})
    assert due == datetime(2024, 3, 13, 0, 0, tzinfo=SHANGHAI)  # the close of Tuesday
    assert due.utcoffset() == timedelta(0)


def test_a_public_holiday_from_the_settings_adds_a_day(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_HOLIDAYS", ["2024-03-11"])
    friday_afternoon = datetime(2024, 3, 8, 15, 0, tzinfo=SHANGHAI)
    due = deadlines.due_at(start=friday_afternoon, limit={"value": 2, "unit": "working_days"})
    assert due == datetime(2024, 3, 14, 0, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("limit", [{"value": 0, "unit": "minutes"}, {"value": 3, "unit": "weeks"},
                                   {"value": "2", "unit": "hours"}, {}])
def test_a_malformed_limit_is_refused(limit):
    with pytest.raises(ValueError):
        deadlines.due_at(start=NOW, limit=limit)


def test_waiting_for_a_supplement_moves_the_due_time_by_exactly_the_wait():
    due = NOW + timedelta(hours=1)
    paused, resumed = NOW + timedelta(minutes=10), NOW + timedelta(days=2, minutes=10)
    assert (deadlines.paused_due_at(due_at=due, paused_at=paused, resumed_at=resumed)
            == due + timedelta(days=2))
    assert deadlines.paused_due_at(due_at=None, paused_at=paused, resumed_at=resumed) is None
    with pytest.raises(ValueError):
        deadlines.paused_due_at(due_at=due, paused_at=resumed, resumed_at=paused)


def swept():
    """The service loop's sweep rolls the history up (the day before NOW, its first step back)."""
    handling_times.roll_up(now=NOW)


def test_without_history_the_eta_follows_the_promised_limits_along_the_longest_path():
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    # birth certificate 30 + registration 15 + insurance 60; vaccination runs alongside.
    assert eta == NOW + timedelta(minutes=105)


def test_typical_handling_times_replace_promises_once_there_is_history():
    completed_history("newborn_household_registration", [4, 6, 100])  # median 6
    completed_history("medical_insurance_enrolment", [10, 12])  # median 11
    swept()
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    assert eta == NOW + timedelta(minutes=30 + 6 + 11)


def test_a_request_adds_new_completions_but_leaves_older_history_to_the_sweep(app):
    # Months stored before the first roll-up (an import, the first start after an upgrade): a
    # day of them is every application finished that day, seconds of reading at province scale,
    # so no officer's completion or citizen's application waits for it.
    completed_history("medical_insurance_enrolment", [10, 12])  # the day before NOW
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    assert eta == NOW + timedelta(minutes=30 + 15 + 60)  # the promises: nothing read back

    completed_history("medical_insurance_enrolment", [40], completed_at=NOW)
    deadlines.clear_cache()
    later = NOW + timedelta(minutes=1)  # the new completion settled: the request adds it
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=later)
    assert eta == NOW + timedelta(minutes=30 + 15 + 40)  # released at NOW

    handling_times.roll_up(now=later)  # the sweep steps back a day: 10, 12 and 40
    deadlines.clear_cache()
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=later)
    assert eta == NOW + timedelta(minutes=30 + 15 + 12)


def test_a_region_is_expected_to_work_at_its_own_pace_else_at_the_provinces():
    completed_history("newborn_household_registration", [4, 6, 8], region="330381")  # 6
    completed_history("newborn_household_registration", [40, 50], region="330102")  # 45
    completed_history("medical_insurance_enrolment", [10, 12], region="330381")  # 11
    completed_history("medical_insurance_enrolment", [30], region="330102")  # 30
    swept()

    ruian = deadlines.estimate_eta(definition=DEFINITION, now=NOW,
                                   tasks=tasks_at_submission(region="330381"))
    shangcheng = deadlines.estimate_eta(definition=DEFINITION, now=NOW,
                                        tasks=tasks_at_submission(region="330102"))
    # Gongshu has no history of its own: the province's, every region's together.
    gongshu = deadlines.estimate_eta(definition=DEFINITION, now=NOW,
                                     tasks=tasks_at_submission(region="330105"))

    assert ruian == NOW + timedelta(minutes=30 + 6 + 11)
    assert shangcheng == NOW + timedelta(minutes=30 + 45 + 30)
    assert gongshu == NOW + timedelta(minutes=30 + 8 + 12)  # medians of 4,6,8,40,50; 10,12,30


def test_without_history_a_region_is_held_to_its_own_promise():
    eta = deadlines.estimate_eta(
        definition=DEFINITION, now=NOW, tasks=tasks_at_submission(
            region="330102", promised={"birth_medical_certificate": minutes(20)}))
    assert eta == NOW + timedelta(minutes=20 + 15 + 60)


def test_history_older_than_the_window_is_ignored(app, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_HISTORY_DAYS", 30)
    completed_history("medical_insurance_enrolment", [1], completed_at=NOW - timedelta(days=400))
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    assert eta == NOW + timedelta(minutes=105)


def test_finished_tasks_count_as_they_finished_and_open_ones_never_finish_in_the_past():
    tasks = tasks_at_submission(released_at=NOW - timedelta(hours=3))
    birth = task_of(tasks, "birth_medical_certificate")
    birth.update(status="completed", completed_at=NOW - timedelta(hours=2))
    registration = task_of(tasks, "newborn_household_registration")
    registration.update(status="claimed", released_at=NOW - timedelta(hours=2))
    eta = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks, now=NOW)
    # registration is late: due any moment now, then an hour of insurance.
    assert eta == NOW + timedelta(hours=1)


def test_an_application_whose_tasks_all_finished_is_expected_when_the_last_one_finished():
    tasks = tasks_at_submission()
    for offset, task in enumerate(tasks):
        task.update(status="completed", completed_at=NOW - timedelta(minutes=10 * offset))
    assert deadlines.estimate_eta(definition=DEFINITION, tasks=tasks, now=NOW) == NOW


def test_a_task_waiting_for_a_supplement_pushes_the_eta_back_while_it_waits():
    tasks = tasks_at_submission(released_at=NOW - timedelta(minutes=10))
    birth = task_of(tasks, "birth_medical_certificate")
    birth.update(status="needs_supplement", paused_at=NOW - timedelta(minutes=5))
    first = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks, now=NOW)
    # 5 of its 30 minutes were spent before the pause; 25 remain once the citizen answers.
    assert first == NOW + timedelta(minutes=25 + 15 + 60)
    later = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks,
                                   now=NOW + timedelta(hours=1))
    assert later == first + timedelta(hours=1)


def test_a_rejected_application_has_no_eta():
    tasks = tasks_at_submission()
    task_of(tasks, "vaccination_certificate")["status"] = "rejected"
    assert deadlines.estimate_eta(definition=DEFINITION, tasks=tasks, now=NOW) is None


def test_medians_are_reused_for_a_while_without_asking_the_database(app, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_CACHE_SECONDS", 300)
    completed_history("medical_insurance_enrolment", [10])
    swept()
    first = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    # Completed since: the median is now 50.
    completed_history("medical_insurance_enrolment", [50, 50], completed_at=NOW)

    db_metrics.reset()
    again = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(), now=NOW)
    assert db_metrics.count() == 0
    assert again == first == NOW + timedelta(minutes=30 + 15 + 10)

    deadlines.clear_cache()
    refreshed = deadlines.estimate_eta(definition=DEFINITION, tasks=tasks_at_submission(),
                                       now=NOW + timedelta(minutes=1))
    assert refreshed == NOW + timedelta(minutes=30 + 15 + 50)


def test_medians_are_kept_from_new_completions_only_each_span_rolled_up_once(app):
    completed_history("medical_insurance_enrolment", [10, 20, 30])
    assert handling_times.roll_up(now=NOW) == 3
    assert handling_times.roll_up(now=NOW) == 0  # another process, the same span: nothing twice
    completed_history("medical_insurance_enrolment", [40, 50], completed_at=NOW)
    history = Application._get_collection().count_documents({})

    later = NOW + timedelta(minutes=5)
    assert handling_times.roll_up(now=later) == 2  # the two new ones, not the five
    assert history == 5

    assert handling_times.medians(now=later, days=90) == {
        "medical_insurance_enrolment": timedelta(minutes=30),
        ("medical_insurance_enrolment", "330381"): timedelta(minutes=30)}
    # Ninety days on, with nothing completed since, the matter has no typical time any more.
    assert handling_times.medians(now=NOW + timedelta(days=91), days=90) == {}


def test_the_history_before_the_first_roll_up_is_read_a_day_at_a_time_newest_first(app):
    # A database that already holds months of completions (an import, the first start after an
    # upgrade) is not read in one aggregation: each roll-up takes one more day back.
    completed_history("medical_insurance_enrolment", [10], completed_at=NOW - timedelta(hours=2))
    completed_history("medical_insurance_enrolment", [20, 20],
                      completed_at=NOW - timedelta(days=1, hours=2))
    completed_history("medical_insurance_enrolment", [90, 90, 90],
                      completed_at=NOW - timedelta(days=89))

    assert handling_times.roll_up(now=NOW) == 1  # the last day only
    assert handling_times.medians(now=NOW, days=90) == {
        "medical_insurance_enrolment": timedelta(minutes=10),
        ("medical_insurance_enrolment", "330381"): timedelta(minutes=10)}
    assert handling_times.roll_up(now=NOW) == 2  # the day before
    assert handling_times.medians(now=NOW, days=90)["medical_insurance_enrolment"] == timedelta(
        minutes=20)
    rolled = sum(handling_times.roll_up(now=NOW) for _ in range(90))
    assert rolled == 3  # the oldest, once; nothing from before the 90 days
    assert handling_times.medians(now=NOW, days=90)["medical_insurance_enrolment"] == timedelta(
        minutes=55)  # 10, 20, 20, 90, 90, 90
    history = HandlingTime.objects.get(id="medical_insurance_enrolment|*")
    assert history.ms == [m * 60_000.0 for m in (90, 90, 90, 20, 20, 10)]  # oldest first

