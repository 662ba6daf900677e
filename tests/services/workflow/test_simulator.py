import itertools
import random
import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from common import crypto
from models.application import Application
from models.user import User
from services.catalogue import publishing
from services.catalogue import seed as catalogue_seed
from services.identity import numbers
from services.workflow import adapters as department_adapters
from services.workflow import handling, submission, transitions
from services.workflow.simulator import Simulator
from tests.helpers import make_citizen, make_material, make_officer

FATHER_ID = numbers.make_id_number("330327", date(1991, 4, 2), 12, "male")  # Cangnan county
MOTHER_ID = numbers.make_id_number("330381", date(1993, 8, 9), 40, "female")  # Ruian


@pytest.fixture
def newborn_catalogue():
    catalogue_seed.load_catalogue()
    publishing.publish_bundle_version("newborn")
    return publishing.compiled_bundle("newborn")


NEWBORN_MATERIALS = ("parent_id_card", "household_register", "marriage_certificate",
                     "birth_registration_form")
INSTANT = float("inf")  # no handling delay: each pass finishes what it claimed


def newborn_form(*, born: date | None = None, gender: str = "female") -> dict:
    """Every answer of the newborn joint form, as parents at the hospital give them."""
    born = born or (datetime.now(UTC) - timedelta(days=2)).date()
    return {
        "newborn_name": "周小雨", "newborn_gender": gender, "newborn_birth_date": born.isoformat(),
        "newborn_birth_time": "08:30", "birth_hospital": "瑞安市人民医院",
        "birth_weight_grams": 3300, "newborn_ethnicity": "汉族",
        "relation_to_newborn": "father", "applicant_name": "周磊",
        "applicant_id_number": FATHER_ID, "spouse_name": "陈静", "spouse_id_number": MOTHER_ID,
        "contact_phone": "13957700001", "residence_address": "瑞安市万松路 1 号",
        "household_address": "瑞安市万松路 1 号", "mailing_address": "瑞安市万松路 1 号",
        "premium_payment_method": "bank_deduction", "bank_account": "6222021203000000001",
        "bank_name": "中国工商银行", "delivery_type": "vaginal",
    }


_people = itertools.count(1)


def verified_citizen(**fields):
    """A citizen who verified their real name (applying asks for it)."""
    return make_citizen(id_number=numbers.make_id_number(FATHER_ID[:6], date(1990, 1, 1),
                                                         next(_people) % 900, "male"), **fields)


def submit_newborn(citizen=None, **form) -> Application:
    """A newborn application submitted through the workflow, with the four materials."""
    citizen = citizen or verified_citizen()
    materials = [str(make_material(citizen, type=code).id) for code in NEWBORN_MATERIALS]
    return submission.submit_application(
        applicant_id=str(citizen.id), bundle="newborn", subject={"kind": "newborn"},
        form={**newborn_form(), **form}, materials=materials,
        idempotency_key=uuid.uuid4().hex)


def completions(application) -> list[str]:
    stored = Application.objects.get(id=application.id)
    return [stored.task(e["task"]).matter for e in stored.events if e["type"] == "task_completed"]


def newborn_application(definition, *, form=None, applicant=None, status="claimed"):
    """An application as the workflow stores it, every task claimed by its department."""
    applicant = applicant or make_citizen()
    answers = {"newborn_name": "Zhou Xiaoyu", "newborn_gender": "female",
               "newborn_birth_date": "2024-05-20", "relation_to_newborn": "father",
               **(form or {})}
    return Application(
        applicant=str(applicant.id), bundle="newborn", bundle_version=definition["version"],
        subject={"kind": "family", "relation": "child", "name": "Zhou Xiaoyu"},
        form=answers,
        form_protected={"applicant_id_number": crypto.encrypt(FATHER_ID),
                        "spouse_id_number": crypto.encrypt(MOTHER_ID)},
        tasks=[{"id": uuid.uuid4().hex, "matter": step["matter"],
                "department": step["department"], "status": status,
                "depends_on": step["depends_on"]} for step in definition["steps"]],
    ).save()


def decide(application, matter, seed=7):
    task = application.task_for(matter)
    context = department_adapters.context_for(task.id, rng=random.Random(seed))
    return department_adapters.adapter_for(matter).decide(context)


def test_the_police_issue_a_valid_id_number_with_the_parents_region_and_the_babys_birth(
        newborn_catalogue):
    application = newborn_application(newborn_catalogue)
    decision = decide(application, "newborn_household_registration")

    number = decision.outputs["citizen_id_number"]
    assert numbers.validate_id_number(number) == date(2024, 5, 20)  # checksum, date, region
    assert number[:6] == FATHER_ID[:6]
    assert numbers.id_number_gender(number) == "female"
    assert not decision.rejects


def test_a_boy_gets_an_odd_order_code():
    rng = random.Random(3)
    made = {department_adapters.make_id_number(region="330381", birth_date=date(2024, 1, 2),
                                               gender="male", rng=rng) for _ in range(20)}
    assert all(numbers.id_number_gender(n) == "male" for n in made)
    assert all(numbers.validate_id_number(n) == date(2024, 1, 2) for n in made)


def test_every_newborn_matter_gets_outputs_its_definition_accepts(newborn_catalogue):
    application = newborn_application(newborn_catalogue)
    for step in newborn_catalogue["steps"]:
        decision = decide(application, step["matter"])
        assert set(decision.outputs) == {o["name"] for o in step["outputs"]}, step["matter"]
        for output in step["outputs"]:
            value = decision.outputs[output["name"]]
            assert value, output["name"]
            if output.get("pattern"):
                assert re.fullmatch(output["pattern"], str(value)), (output["name"], value)
    certificate = decide(application, "birth_medical_certificate").outputs
    assert re.fullmatch(r"[A-Z]\d{9}", certificate["birth_certificate_number"])


def test_without_a_birth_date_the_police_reject_with_a_reason_in_the_applicants_language(
        newborn_catalogue):
    applicant = verified_citizen(locale="zh-CN")
    application = newborn_application(newborn_catalogue, applicant=applicant,
                                      form={"newborn_birth_date": None})
    decision = decide(application, "newborn_household_registration")
    assert decision.rejects
    assert "出生日期" in decision.reason


def test_a_matter_without_its_own_adapter_gets_values_matching_its_patterns(newborn_catalogue):
    application = newborn_application(newborn_catalogue)
    task = application.tasks[0]
    context = department_adapters.context_for(task.id, rng=random.Random(1))
    context.outputs = [
        {"name": "licence_number", "type": "string", "pattern": r"^92\d{4}[A-Z]{2}\d{6}$"},
        {"name": "plate", "type": "string", "pattern": r"^浙C[A-HJ-NP-Z0-9]{5}$"},
        {"name": "reference", "type": "string"},
        {"name": "issued_on", "type": "date"},
    ]
    outputs = department_adapters.GENERIC.decide(context).outputs
    assert re.fullmatch(r"92\d{4}[A-Z]{2}\d{6}", outputs["licence_number"])
    assert re.fullmatch(r"浙C[A-HJ-NP-Z0-9]{5}", outputs["plate"])
    assert outputs["reference"] and date.fromisoformat(outputs["issued_on"])


def test_the_adapters_act_as_one_staff_account_per_department():
    first = department_adapters.account_for("public_security")
    again = department_adapters.account_for("public_security")
    other = department_adapters.account_for("health")
    assert first.id == again.id != other.id
    assert first.role == "officer" and first.department == "public_security"
    assert User.objects(username="adapter.public_security").count() == 1


def test_the_simulator_finishes_the_seven_newborn_matters_in_dependency_order(newborn_catalogue):
    application = submit_newborn()
    simulator = Simulator(speed=INSTANT, rng=random.Random(5))

    simulator.run(once=True)
    assert sorted(completions(application)) == ["birth_medical_certificate",
                                                "vaccination_certificate"]
    for _ in range(5):
        simulator.run(once=True)

    stored = Application.objects.get(id=application.id)
    assert stored.status == "completed"
    order = completions(application)
    assert sorted(order) == sorted(s["matter"] for s in newborn_catalogue["steps"])
    for step in newborn_catalogue["steps"]:
        for dependency in step["depends_on"]:
            assert order.index(dependency) < order.index(step["matter"])
    # the baby's ID number, issued by the police, reached medical insurance
    issued = transitions.reveal(stored.task_for("newborn_household_registration")
                             .outputs["citizen_id_number"])
    assert numbers.validate_id_number(issued)
    assert issued[:6] == FATHER_ID[:6]
    enrolment = stored.task_for("medical_insurance_enrolment")
    assert transitions.reveal(enrolment.inputs["citizen_id_number"]) == issued


def test_each_region_is_worked_by_its_own_adapters(newborn_catalogue):
    ruian, shangcheng = submit_newborn(), submit_newborn(verified_citizen(region="330102"))

    Simulator(speed=INSTANT).run(once=True)

    for application, region in ((ruian, "330381"), (shangcheng, "330102")):
        stored = Application.objects.get(id=application.id)
        birth = stored.task_for("birth_medical_certificate")
        assert birth.status == "completed" and birth.region == region
        assert User.objects.get(id=birth.claimed_by).region == region
    assert User.objects(username="adapter.health.330102").count() == 1


def test_a_task_an_officer_claimed_first_is_left_to_the_officer(newborn_catalogue):
    application = submit_newborn()
    officer = make_officer("health")
    birth = application.task_for("birth_medical_certificate")
    handling.claim_task(task_id=birth.id, officer=officer)

    Simulator(speed=INSTANT).run(once=True)

    stored = Application.objects.get(id=application.id)
    assert stored.task(birth.id).status == "claimed"
    assert stored.task(birth.id).claimed_by == str(officer.id)
    assert completions(application) == ["vaccination_certificate"]


def test_tasks_held_when_the_simulator_stopped_are_finished_after_a_restart(newborn_catalogue):
    application = submit_newborn()
    slow = Simulator(speed=1.0)
    assert slow.claim_pending() == 2
    assert slow.finish_ready() == 0  # minutes of handling still to go; then it stops

    Simulator(speed=INSTANT).run(once=True)

    assert sorted(completions(application)) == ["birth_medical_certificate",
                                                "vaccination_certificate"]


def test_the_simulator_works_only_the_departments_it_is_given(newborn_catalogue):
    application = submit_newborn()
    Simulator(speed=INSTANT, departments=["community_health"]).run(once=True)
    assert completions(application) == ["vaccination_certificate"]


def test_two_simulators_at_once_complete_each_task_once(app, newborn_catalogue):
    applications = [submit_newborn() for _ in range(2)]
    ids = [a.id for a in applications]
    start = threading.Barrier(2)

    def work():
        with app.app_context():
            start.wait()
            for _ in range(12):  # until both are done: each pass finishes what is pending
                if Application.objects(id__in=ids, status="completed").count() == len(ids):
                    return
                Simulator(speed=INSTANT).run(once=True)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for application in applications:
        order = completions(application)
        assert len(order) == len(set(order)) == 7
        assert Application.objects.get(id=application.id).status == "completed"


def test_the_simulate_command_reports_each_department_finishing(app, newborn_catalogue):
    submit_newborn()
    result = app.test_cli_runner().invoke(
        args=["departments", "simulate", "--once", "--speed", "100000"])
    assert result.exit_code == 0, result.output
    assert "completed  birth_medical_certificate -> birth_certificate_number" in result.output
    assert "completed  vaccination_certificate" in result.output
    assert "citizen_id_number" not in result.output  # not released yet: one pass only
