"""Every list a user can grow answers one page at a time: page and page_size bounded, the total in
X-Pagination, the same shape as the workbench queue."""
import json

import pytest

from models.conversation import Conversation
from models.handoff import Handoff
from tests import workflow_support as ws
from tests.helpers import make_admin, make_material, make_officer, make_partner


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def page_info(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


def apply_for_babies(client, parent, count: int) -> list[str]:
    """One application per baby (one may be open per bundle and person)."""
    made = []
    for n in range(count):
        body = {"bundle": "newborn", "subject": {"kind": "newborn"},
                "form": ws.newborn_form(newborn_name=f"Baby {n}"),
                "materials": ws.newborn_materials(parent)}
        made.append(client.as_(parent).post("/api/v1/applications", json=body,
                                            headers={"Idempotency-Key": f"baby-{n}"},
                                            expect=201).get_json()["id"])
    return made


def test_a_citizens_applications_come_a_page_at_a_time_newest_first(client):
    parent = ws.make_parent()
    made = apply_for_babies(client, parent, 3)

    first = client.as_(parent).get("/api/v1/applications?page_size=2", expect=200)
    second = client.as_(parent).get("/api/v1/applications?page_size=2&page=2", expect=200)

    assert [a["id"] for a in first.get_json()] == made[::-1][:2]
    assert [a["id"] for a in second.get_json()] == made[::-1][2:]
    assert page_info(first) == {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2,
                                "page": 1, "next_page": 2}


def test_a_vault_of_many_materials_answers_ten_by_default_and_at_most_a_hundred(client):
    parent = ws.make_parent()
    for _ in range(105):
        make_material(parent)

    default = client.as_(parent).get("/api/v1/me/materials", expect=200)
    largest = client.as_(parent).get("/api/v1/me/materials?page_size=100", expect=200)
    too_large = client.as_(parent).get("/api/v1/me/materials?page_size=101", expect=422)

    assert len(default.get_json()) == 10 and page_info(default)["total"] == 105
    assert len(largest.get_json()) == 100 and page_info(largest)["total_pages"] == 2
    assert too_large.get_json()["error"] == "validation_failed"
    assert "page_size" in too_large.get_json()["errors"]


def test_a_page_number_of_zero_is_refused_in_the_one_error_shape(client):
    parent = ws.make_parent()

    answer = client.as_(parent).get("/api/v1/applications?page=0", expect=422).get_json()

    assert answer["error"] == "validation_failed" and "page" in answer["errors"]


def test_staff_accounts_and_partners_come_a_page_at_a_time(client):
    admin = make_admin()
    for n in range(3):
        make_officer("public_security", username=f"officer.page.{n}")
        make_partner(client_id=f"partner-page-{n}")

    staff = client.as_(admin).get("/api/v1/admin/staff?page_size=2", expect=200)
    partners = client.as_(admin).get("/api/v1/admin/partners?page_size=2&page=2", expect=200)

    assert len(staff.get_json()) == 2 and page_info(staff)["total"] == 4  # and the admin
    assert [p["client_id"] for p in partners.get_json()] == ["partner-page-2"]
    assert page_info(partners)["total"] == 3


def test_handoffs_come_a_page_at_a_time_longest_waiting_first(client):
    officer = make_officer("public_security")
    made = []
    for n in range(3):
        conversation = Conversation(owner=f"citizen-{n}").save()
        made.append(str(Handoff(conversation=str(conversation.id), citizen=f"citizen-{n}",
                                departments=["public_security"], region="330381",
                                reason=f"转人工 {n}").save().id))

    second = client.as_(officer).get("/api/v1/workbench/handoffs?page_size=2&page=2", expect=200)

    assert [h["id"] for h in second.get_json()] == made[2:]
    assert page_info(second)["total"] == 3
