"""Workflow test data: the seeded catalogue, a verified family of a newborn, its four materials."""
import copy
import json
import os
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from api import create_app
from models.application import Application
from models.connection import database
from models.user import User
from services.catalogue import seed as catalogue_seed
from services.errors import InvalidState
from services.identity import numbers
from services.workflow import handling
from tests.helpers import make_citizen, make_family_member, make_material

CATALOGUE = ("departments", "material_types", "matters", "bundles", "bundle_versions",
             "local_implementations", "catalogue_state")
NEWBORN_MATERIALS = ("parent_id_card", "household_register", "marriage_certificate",
                     "birth_registration_form")
NEWBORN_DEPARTMENTS = ("health", "community_health", "public_security", "medical_insurance",
                       "taxation", "hrss")
# Matter → (department, outputs an officer gives), in an order that respects the dependencies.
NEWBORN_STEPS = {
    "birth_medical_certificate": ("health", {"birth_certificate_number": "R330381001"}),
    "vaccination_certificate": ("community_health", {"vaccination_certificate_number": "V-0001"}),
    "newborn_household_registration": ("public_security", None),  # the ID number: see below
    "maternity_insurance_benefit": ("medical_insurance", {"maternity_benefit_reference": "MB-7"}),
    "medical_insurance_enrolment": ("medical_insurance", {"medical_insurance_number": "MI-42"}),
    "medical_insurance_payment": ("taxation", {"premium_receipt_number": "PR-9"}),
    "citizen_card": ("hrss", {"citizen_card_number": "CC-330381-1"}),
}

_snapshot: dict[str, list] | None = None


def load_catalogue() -> None:
    """The seeded catalogue (read from its files once per test process, copied in afterwards)."""
    global _snapshot
    db = database()
    if db["bundles"].find_one({"code": "newborn"}, {"_id": 1}):
        return  # already there in this test
    if _snapshot is None:
        catalogue_seed.load_catalogue()
        _snapshot = {name: list(db[name].find()) for name in CATALOGUE}
        return
    for name, documents in _snapshot.items():
        if documents:
            db[name].insert_many(copy.deepcopy(documents))


def birth_date() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def baby_id_number(sequence: int = 7) -> str:
    return numbers.make_id_number("330381", birth_date(), sequence, "female")


def outputs_for(matter: str) -> dict:
    if matter == "newborn_household_registration":
        return {"citizen_id_number": baby_id_number()}
    return dict(NEWBORN_STEPS[matter][1])


def make_parent(n: int = 1, **fields):
    """A real-name verified citizen with a phone and a spouse: the joint form's personal answers
    are all prefilled for them."""
    parent = make_citizen(phone=f"1380000{n:04d}",
                          id_number=numbers.make_id_number("330381", date(1990, 5, n % 28 + 1),
                                                            n % 400, "male"),
                          name=fields.pop("name", f"Parent {n}"), **fields)
    make_family_member(parent, "spouse", name=f"Spouse {n}",
                       id_number=numbers.make_id_number("330381", date(1991, 3, n % 28 + 1),
                                                         n % 400, "female"))
    return parent


def newborn_form(**changes) -> dict:
    """What the parents still type into the joint form (everything else is prefilled)."""
    answers = {
        "newborn_name": "Zhou Xiaoyu", "newborn_gender": "female",
        "newborn_birth_date": birth_date().isoformat(), "newborn_birth_time": "07:45",
        "birth_hospital": "Ruian People's Hospital", "birth_weight_grams": 3300,
        "relation_to_newborn": "father", "newborn_ethnicity": "Han",
        "household_address": "1 Wansong Road, Ruian", "residence_address": "1 Wansong Road",
        "bank_account": "6222020200112233445", "bank_name": "ICBC",
        "delivery_type": "vaginal", "premium_payment_method": "bank_deduction",
    }
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


def newborn_materials(parent) -> list[str]:
    return [str(make_material(parent, t).id) for t in NEWBORN_MATERIALS]


def work_the_queue(application_id: str, officer, *, timeout: float = 60.0) -> dict:
    """An officer claims every pending task of their department on one application, completes
    what they won, and stops when the application is done; returns what they won and lost."""


    won: dict[str, list[str]] = {"claimed": [], "completed": [], "lost": []}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        application = Application.objects(id=application_id).only("status", "tasks").first()
        if application.status != "in_progress":
            return won
        for task in application.tasks:
            if task.department != officer.department or task.status != "pending":
                continue
            try:
                handling.claim_task(task_id=task.id, officer=officer)
            except InvalidState:
                won["lost"].append(task.id)
                continue
            won["claimed"].append(task.id)
            handling.complete_task(task_id=task.id, officer=officer,
                                   outputs=outputs_for(task.matter))
            won["completed"].append(task.id)
        time.sleep(0.002)
    raise AssertionError("the application did not complete in time")


def race_worker(application_id: str, officer_ids: list[str], barrier: str, parties: int) -> None:
    """One OS process with its own app on the test database: once every process is up (a file
    each in the `barrier` folder), its officers race on threads; prints what they won as JSON."""


    app = create_app("test")
    results: list[dict] = []

    def run(officer_id: str) -> None:
        with app.app_context():
            officer = User.objects.get(id=officer_id)
            results.append(work_the_queue(application_id, officer))

    threads = [threading.Thread(target=run, args=(oid,)) for oid in officer_ids]
    folder = Path(barrier)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < parties and time.monotonic() < deadline:
        time.sleep(0.01)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({key: [t for r in results for t in r[key]]
                      for key in ("claimed", "completed", "lost")}))
