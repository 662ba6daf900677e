"""Personal answers of the joint form (bank account, names, addresses) rest encrypted, are
masked in answers, and a signed download link never reaches a log line."""
import io
import logging

import pytest

from common import log_setup
from models.application import Application
from tests import workflow_support as ws
from tests.api.test_applications import apply

ACCOUNT = "6222020200112233445"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


@pytest.fixture
def parent():
    return ws.make_parent()


@pytest.fixture
def as_parent(client, parent):
    return client.as_(parent)


def test_a_bank_account_rests_encrypted_and_is_answered_masked(as_parent, parent):
    created = apply(as_parent, parent, form=ws.newborn_form(bank_account=ACCOUNT)).get_json()

    raw = str(Application._get_collection().find_one({}))
    assert ACCOUNT not in raw and "1 Wansong Road" not in raw and "Zhou Xiaoyu" not in raw
    listed = as_parent.get("/api/v1/applications", expect=200).get_json()
    one = as_parent.get(f"/api/v1/applications/{created['id']}", expect=200).get_json()
    for seen in (listed[0]["form"] if isinstance(listed, list) else listed["items"][0]["form"],
                 one["form"]):
        assert seen["bank_account"] == "6222***********3445"
        assert seen["newborn_name"] == "Zhou Xiaoyu"  # the owner's own answers, in full
        assert seen["household_address"] == "1 Wansong Road, Ruian"


def test_the_officer_whose_task_needs_the_account_reads_it(as_parent, parent, as_officer):
    created = apply(as_parent, parent, form=ws.newborn_form(bank_account=ACCOUNT)).get_json()
    officer = as_officer("medical_insurance")
    task = next(t for t in created["tasks"] if t["department"] == "medical_insurance")
    seen = officer.get(f"/api/v1/workbench/tasks/{task['id']}", expect=200).get_json()
    form = seen["application"]["form"]
    if "bank_account" in form:
        assert form["bank_account"] == ACCOUNT


def test_a_signed_link_in_a_request_line_is_redacted_in_the_log():
    stream = io.StringIO()
    log_setup.configure("INFO", "text")
    handler = logging.getLogger().handlers[0]
    handler.stream = stream
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - "GET /api/v1/materials/abc/content?link=eyJhbGciOi.secret-part HTTP/1.1" '
        '200 -')
    logging.getLogger("werkzeug").info("%s", "/x?token=abc&page=2")
    output = stream.getvalue()
    assert "eyJhbGciOi" not in output and "secret-part" not in output and "abc&" not in output
    assert "link=[redacted]" in output and "page=2" in output
