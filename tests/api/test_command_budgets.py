"""Database commands per request, as `make bench` budgets them: applying ≤ 5, claiming or
completing a task ≤ 3, reading an application ≤ 2 (read from each answer's X-DB-Commands)."""
import pytest

from config import Config
from models import catalogue_state
from models.application import Application
from models.family import FamilyMember
from models.material import Material
from services.workflow import deadlines
from tests import workflow_support as ws
from tests.helpers import make_officer

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"


@pytest.fixture(autouse=True)
def caches_on_as_in_production(app, monkeypatch):
    """The per-process caches production runs with (the catalogue's state, handling times).
    The state is kept for a minute here, not production's two seconds: a slow machine must
    never make a count depend on the clock."""
    ws.load_catalogue()
    monkeypatch.setitem(app.config, "CATALOGUE_STATE_TTL", 60.0)
    monkeypatch.setitem(app.config, "ETA_CACHE_SECONDS", Config.ETA_CACHE_SECONDS)
    catalogue_state.forget_state()
    deadlines.clear_cache()
    yield
    catalogue_state.forget_state()
    deadlines.clear_cache()


def commands(response) -> int:
    return int(response.headers["X-DB-Commands"])


def apply(client, parent, key: str):
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": ws.newborn_materials(parent)}
    return client.as_(parent).post(APPLICATIONS, json=body, headers={"Idempotency-Key": key},
                                   expect=201)


@pytest.fixture
def applied(client):
    """A newborn application, made once the process has served one before (warm caches)."""
    apply(client, ws.make_parent(2), "warm-up")
    parent = ws.make_parent()
    return parent, apply(client, parent, "birth")


@pytest.fixture
def officers(client):
    return {d: client.as_(make_officer(d)) for d in ws.NEWBORN_DEPARTMENTS}


def task_of(application: dict, matter: str) -> str:
    return next(t["id"] for t in application["tasks"] if t["matter"] == matter)


def work(officers, task_id: str, matter: str):
    """Claim and complete one task; returns (claim answer, completion answer)."""
    officer = officers[ws.NEWBORN_STEPS[matter][0]]
    claimed = officer.post(f"{TASKS}/{task_id}/claim", expect=200)
    completed = officer.post(f"{TASKS}/{task_id}/complete",
                             json={"outputs": ws.outputs_for(matter)}, expect=200)
    return claimed, completed


def test_applying_for_a_newborn_sends_at_most_six_commands(applied):
    _, answer = applied

    assert commands(answer) <= 6  # five, and the per-citizen rate limit's count
    assert FamilyMember.objects(relation="child").count() == 2  # each parent's baby, once


def test_a_replayed_application_sends_at_most_six_commands_and_answers_the_same(client,
                                                                                 applied):
    parent, first = applied
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": first.get_json()["materials"]}

    again = client.as_(parent).post(APPLICATIONS, json=body, headers={"Idempotency-Key": "birth"},
                                    expect=201)

    assert commands(again) <= 6  # a retry is counted by the rate limit too
    assert again.get_json() == first.get_json()


def test_claiming_and_completing_a_task_that_issues_an_elicence_send_at_most_three_each(
        applied, officers):
    _, answer = applied
    application = answer.get_json()

    claimed, completed = work(officers, task_of(application, "birth_medical_certificate"),
                              "birth_medical_certificate")

    assert commands(claimed) <= 3
    assert commands(completed) <= 3
    licence = Material.objects.get(kind="elicence", type="birth_medical_certificate")
    assert licence.subject == application["subject"]["id"]
    task = Application.objects.get(id=application["id"]).task_for("birth_medical_certificate")
    assert task.elicences == [str(licence.id)]  # named by the completing write itself


def test_completing_a_task_without_an_elicence_sends_at_most_three(applied, officers):
    application = applied[1].get_json()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")

    _, completed = work(officers, task_of(application, "maternity_insurance_benefit"),
                        "maternity_insurance_benefit")

    assert commands(completed) <= 3


def test_registering_the_newborn_also_records_its_id_number_in_one_more_command(
        applied, officers):
    application = applied[1].get_json()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")

    _, completed = work(officers, task_of(application, "newborn_household_registration"),
                        "newborn_household_registration")

    # The e-licence and the ID number on the baby's family entry: one write each.
    assert commands(completed) <= 4
    baby = FamilyMember.objects.get(id=application["subject"]["id"])
    assert baby.id_number_index


def test_reading_an_application_sends_at_most_two_commands(client, applied):
    parent, answer = applied

    read = client.as_(parent).get(f"{APPLICATIONS}/{answer.get_json()['id']}", expect=200)

    assert commands(read) <= 2
