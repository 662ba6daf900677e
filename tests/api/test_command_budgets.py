"""Database commands per request, as `make bench` budgets them (read from each answer's
X-DB-Commands): applying ≤ 4 (the per-citizen rate limit's count included), claiming a task its
officer has opened 1 (2 when another process served the page), completing 1 (and one more per
thing a completion issues outside the application: an e-licence, the newborn's ID number),
reading an application ≤ 2, uploading a material 4 (the rate limit's included), asking for a
sign-in code 3, signing in 3 (the first time too, when the account is made), an officer's
sign-in 3, registering a device 3.

None of these requests, nor a notification worker's round, sends a findAndModify: the embedded
server runs one as a find and then a write it cannot plan on an index (a scan of the whole
collection under its write lock), so each costs more with every document ever stored; see
models/indexed_writes.py."""
import io
from datetime import date

import pytest

from config import Config
from models import catalogue_state
from models.application import Application
from models.family import FamilyMember
from models.material import Material
from models.user import User
from notifications import templates
from services.identity import numbers, staff_accounts
from services.workflow import deadlines, recent
from tests import material_files as files
from tests import workflow_support as ws
from tests.helpers import (
    capture_commands,
    close_rate_limit_windows,
    make_citizen,
    make_officer,
)
from tests.notifications.support import device, fast_worker

APPLICATIONS = "/api/v1/applications"
FATHER_ID = numbers.make_id_number("330381", date(1990, 6, 1), 12, "male")
SPOUSE_ID = numbers.make_id_number("330381", date(1993, 3, 3), 78, "female")
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


@pytest.fixture(autouse=True)
def sent(monkeypatch) -> list[str]:
    """The name of every command the app sends during the test, fixtures included."""
    return capture_commands(monkeypatch)


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
    """Open, claim and complete one task, as the workbench's task page does; returns (claim
    answer, completion answer)."""
    officer = officers[ws.NEWBORN_STEPS[matter][0]]
    officer.get(f"{TASKS}/{task_id}", expect=200)
    claimed = officer.post(f"{TASKS}/{task_id}/claim", expect=200)
    completed = officer.post(f"{TASKS}/{task_id}/complete",
                             json={"outputs": ws.outputs_for(matter)}, expect=200)
    return claimed, completed


def test_applying_for_a_newborn_sends_at_most_four_commands(applied, sent):
    _, answer = applied

    # The rate limit's count; the citizen, the family members it may concern and the materials
    # named, in one read; the newborn's family entry; the application.
    assert commands(answer) <= 4
    assert "findAndModify" not in sent
    assert FamilyMember.objects(relation="child").count() == 2  # each parent's baby, once


def first_application_typing_a_spouse(client, spouse_id_number: str, expect: int = 201):
    """A verified parent with no spouse on file applies, typing the spouse's name and ID
    number in the form (make bench's journey); returns the parent and the answer."""
    apply(client, ws.make_parent(2), "warm-up")
    parent = make_citizen(phone="13800000301", name="Zhou Lei", id_number=FATHER_ID)
    body = {"bundle": "newborn", "subject": {"kind": "newborn"},
            "form": ws.newborn_form(spouse_name="Li Hong", spouse_id_number=spouse_id_number),
            "materials": ws.newborn_materials(parent)}
    return parent, client.as_(parent).post(APPLICATIONS, json=body,
                                           headers={"Idempotency-Key": "birth"}, expect=expect)


def test_a_first_application_typing_a_new_spouse_sends_at_most_four_commands(client, sent):
    parent, answer = first_application_typing_a_spouse(client, SPOUSE_ID)

    # The rate limit's count; the citizen, the family, the materials and the verified citizens
    # holding the typed numbers in one read; the newborn and the spouse in one write; the
    # application.
    assert commands(answer) <= 4
    assert "findAndModify" not in sent
    family = {m.relation: m for m in FamilyMember.objects(owner=str(parent.id))}
    assert set(family) == {"spouse", "child"}
    assert family["spouse"].name == "Li Hong" and family["spouse"].status == "confirmed"
    assert answer.get_json()["subject"]["id"] == str(family["child"].id)


def test_a_first_application_typing_a_verified_citizens_number_is_refused_in_three_commands(
        client, sent):
    make_citizen(phone="13800000302", name="Li Hong", id_number=SPOUSE_ID)

    parent, answer = first_application_typing_a_spouse(client, SPOUSE_ID, expect=422)

    # She is added to the family first, and confirms: the one read told who holds the number
    # (then the rate limit's count, that read, and whether the key made an application before).
    assert answer.get_json()["error"] == "id_number_not_in_family"
    assert commands(answer) <= 3
    assert FamilyMember.objects(owner=str(parent.id)).count() == 0


def test_a_replayed_application_sends_at_most_five_commands_and_answers_the_same(client,
                                                                                  applied, sent):
    # The refused insert, then the application its key made.
    parent, first = applied
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": first.get_json()["materials"]}

    again = client.as_(parent).post(APPLICATIONS, json=body, headers={"Idempotency-Key": "birth"},
                                    expect=201)

    assert commands(again) <= 5  # a retry is counted by the rate limit too
    assert again.get_json() == first.get_json()
    assert "findAndModify" not in sent


def test_claiming_an_opened_task_sends_one_command_and_completing_with_an_elicence_two(
        applied, officers, sent):
    _, answer = applied
    application = answer.get_json()

    claimed, completed = work(officers, task_of(application, "birth_medical_certificate"),
                              "birth_medical_certificate")

    # The conditional write alone, guarded by the version of the application the officer just
    # opened (services/workflow/recent.py); then the completion's write and the e-licence's.
    assert commands(claimed) == 1
    assert commands(completed) == 2
    assert "findAndModify" not in sent  # the application, the claim, the completion
    licence = Material.objects.get(kind="elicence", type="birth_medical_certificate")
    assert licence.subject == application["subject"]["id"]
    task = Application.objects.get(id=application["id"]).task_for("birth_medical_certificate")
    assert task.elicences == [str(licence.id)]  # named by the completing write itself


def test_a_claim_this_process_has_no_copy_for_reads_then_writes(applied, officers, sent):
    application = applied[1].get_json()
    task_id = task_of(application, "birth_medical_certificate")
    officers["health"].get(f"{TASKS}/{task_id}", expect=200)
    recent.forget()  # as if another process had served the task's page

    claimed = officers["health"].post(f"{TASKS}/{task_id}/claim", expect=200)

    assert commands(claimed) == 2
    assert claimed.get_json()["status"] == "claimed" and claimed.get_json()["claimed_by_me"]


def test_a_stale_copy_costs_one_more_read_and_answers_the_state_as_stored(applied, officers):
    application = applied[1].get_json()
    certificate = task_of(application, "birth_medical_certificate")
    vaccination = task_of(application, "vaccination_certificate")
    officers["health"].get(f"{TASKS}/{certificate}", expect=200)
    opened = recent.holding(certificate)
    # Then another department's steps, as if served by another process: this one still holds
    # the application as the officer opened it.
    work(officers, vaccination, "vaccination_certificate")
    recent.keep(opened)

    claimed = officers["health"].post(f"{TASKS}/{certificate}/claim", expect=200)

    assert commands(claimed) == 3  # the write on the stale copy, the read, the write
    stored = Application.objects.get(id=application["id"])
    assert stored.task(vaccination).status == "completed"  # nothing undone by the stale copy
    assert stored.task(certificate).status == "claimed"
    assert [e["type"] for e in stored.events].count("task_claimed") == 2


def test_completing_a_task_without_an_elicence_sends_one_command(applied, officers, sent):
    application = applied[1].get_json()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")

    claimed, completed = work(officers, task_of(application, "maternity_insurance_benefit"),
                              "maternity_insurance_benefit")

    assert commands(claimed) == 1
    assert commands(completed) == 1
    assert "findAndModify" not in sent
    task = Application.objects.get(id=application["id"]).task_for("maternity_insurance_benefit")
    assert task.status == "completed"


def test_registering_the_newborn_also_records_its_id_number_in_one_more_command(
        applied, officers, sent):
    application = applied[1].get_json()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")

    _, completed = work(officers, task_of(application, "newborn_household_registration"),
                        "newborn_household_registration")

    # The task's write; the e-licence and the ID number on the baby's family entry.
    assert commands(completed) == 3
    baby = FamilyMember.objects.get(id=application["subject"]["id"])
    assert baby.id_number_index
    assert "findAndModify" not in sent


def test_reading_an_application_sends_at_most_two_commands(client, applied):
    parent, answer = applied

    read = client.as_(parent).get(f"{APPLICATIONS}/{answer.get_json()['id']}", expect=200)

    assert commands(read) <= 2


def test_uploading_a_material_sends_at_most_four_commands(client, sent):
    parent = ws.make_parent()
    citizen = client.as_(parent)
    first = citizen.post("/api/v1/materials", data={  # a process that has served the type
        "type": "household_register", "file": (io.BytesIO(files.jpeg()), "id.jpg", "image/jpeg")},
        content_type="multipart/form-data", expect=201)

    second = citizen.post("/api/v1/materials", data={
        "type": "household_register",
        "file": (io.BytesIO(files.jpeg(colour=(10, 20, 30))), "hr.jpg", "image/jpeg")},
        content_type="multipart/form-data", expect=201)

    # The rate limit's count, the owner's vault, the file's chunks, the material (which is the
    # file's GridFS document); the type is the catalogue's, kept by the process for its stamp.
    assert commands(second) <= 4
    assert first.get_json()["type_name"] and second.get_json()["type_name"]
    kept = client.as_(parent).get(f"/api/v1/materials/{second.get_json()['id']}/content",
                                  expect=200)
    assert kept.data[:2] == b"\xff\xd8"  # read back through GridFS: a JPEG
    assert "findAndModify" not in sent


def test_a_sign_in_code_sends_three_commands_and_a_first_or_returning_sign_in_three(
        client, sent):
    # A process that has served one before (its rate limiter has made its indexes).
    client.post("/api/v1/auth/otp", json={"phone": "13900002222"}, expect=202)
    phone = "13900001111"
    asked = client.post("/api/v1/auth/otp", json={"phone": phone},
                        headers={"X-Forwarded-For": "198.18.0.9"}, expect=202)
    signed_in = client.post("/api/v1/auth/login", json={
        "phone": phone, "code": asked.get_json()["debug_code"]}, expect=200)
    close_rate_limit_windows()
    again = client.post("/api/v1/auth/otp", json={"phone": phone},
                        headers={"X-Forwarded-For": "198.18.0.9"}, expect=202)
    returning = client.post("/api/v1/auth/login", json={
        "phone": phone, "code": again.get_json()["debug_code"]}, expect=200)

    # The client's window, the phone's window (a minute's and a day's limit), the code.
    assert commands(asked) == 3 and commands(again) == 3
    # The code spent (the same command says a code of this phone was spent before); the
    # citizen read; the refresh token (whose family's start is the sign-in).
    assert commands(returning) == 3
    # The first sign-in: no code spent before, so the account's upsert instead of the read.
    assert commands(signed_in) == 3
    assert returning.get_json()["user"]["id"] == signed_in.get_json()["user"]["id"]
    assert "findAndModify" not in sent


def test_an_officer_signs_in_with_three_commands(client, sent):
    officer = staff_accounts.create_staff(username="officer.health", password="onething-dev",
                                          role="officer", department="health", region="330381",
                                          check_department=False)

    signed_in = client.post("/api/v1/auth/staff-login", json={
        "username": "officer.health", "password": "onething-dev"}, expect=200)

    # The account read; its failures cleared with the sign-in recorded; the refresh token.
    assert commands(signed_in) == 3
    assert signed_in.get_json()["user"]["id"] == str(officer.id)
    assert User.objects.get(id=officer.id).last_login_at is not None
    assert "findAndModify" not in sent


def test_a_new_device_is_registered_in_three_commands_and_refreshed_in_two(client, sent):
    citizen = client.as_(make_citizen())
    body = {"token": "fcm-token-of-one-install", "platform": "android", "locale": "zh-CN"}

    citizen.get("/api/v1/me/devices", expect=200)  # the process has checked the session
    registered = citizen.post("/api/v1/me/devices", json=body, expect=201)
    refreshed = citizen.post("/api/v1/me/devices", json=body, expect=200)

    # Not this citizen's token yet; inserted (the answer is what was written); the citizen's
    # devices beyond the limit.
    assert commands(registered) == 3
    # This citizen's token refreshed, then read for its id; a refresh adds no device to trim.
    assert commands(refreshed) == 2
    assert registered.get_json() == {**refreshed.get_json(),
                                     "last_seen_at": registered.get_json()["last_seen_at"]}
    listed = citizen.get("/api/v1/me/devices", expect=200).get_json()
    assert [d["id"] for d in listed] == [registered.get_json()["id"]]
    assert "findAndModify" not in sent


def test_a_notification_worker_round_sends_no_find_and_modify(app, applied, officers, sent):
    parent, answer = applied
    device(parent, "budget-device")
    application = answer.get_json()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")
    del sent[:]

    worker = fast_worker(app)
    handled = worker.run_once()
    handled += worker.run_once()

    assert handled  # intents relayed and deliveries made: the round did its work
    assert "update" in sent  # the capture saw the round's writes
    assert "findAndModify" not in sent


def test_a_worker_round_relays_and_pushes_in_eight_commands(app, applied, officers, sent,
                                                            monkeypatch):
    monkeypatch.setattr(templates, "CHECK_SECONDS", 3600.0)  # no catalogue check mid-test
    parent, answer = applied
    device(parent, "budget-device")
    application = answer.get_json()
    worker = fast_worker(app)
    worker.run_once()
    work(officers, task_of(application, "birth_medical_certificate"), "birth_medical_certificate")
    # The catalogue names these intents need are in the process, as in a worker that has run.
    templates.names.prefetch(Application.objects.get(id=application["id"]).outbox)
    del sent[:]

    assert worker.run_once()  # the completion's intents relayed and pushed

    # The outboxes, one read of everything the batch needs (accounts, counters, preferences,
    # devices, partners, the push pause), the inbox, the deliveries (the pushes go out here),
    # other due pushes, the outcomes, the counters, the outboxes emptied.
    assert len(sent) == 8, " ".join(sent)


def test_a_citizens_list_sends_at_most_four_commands_and_reads_only_its_page(client, applied,
                                                                             sent):
    parent, _ = applied
    client.as_(parent).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "newborn"},
        "form": ws.newborn_form(newborn_name="Twin"), "materials": ws.newborn_materials(parent)},
        headers={"Idempotency-Key": "twin"}, expect=201)
    sent.clear()

    listed = client.as_(parent).get(f"{APPLICATIONS}?page_size=1", expect=200)
    beyond = client.as_(parent).get(f"{APPLICATIONS}?page_size=1&page=3", expect=200)

    # The children's entries, then the ids of the citizen's and of their children's
    # applications (one query each), then the page by `_id`: no count, which read them all.
    assert len(listed.get_json()) == 1 and commands(listed) <= 4
    assert "aggregate" not in sent and "count" not in sent
    assert beyond.get_json() == [] and commands(beyond) == commands(listed) - 1
