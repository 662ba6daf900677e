"""The canary: citizens whose names, ID, phone and bank account numbers are unique markers go
through the newborn story with every channel at its stand-in; afterwards no marker may be found in
the logs at DEBUG, in what the phone, the SMS gateway, the mini-program platform or a partner
received, in any answer to someone other than its owner, or in the database's files on disk.
Masked forms (330381********123X, 139****0731, Canari****) are allowed: they are not the marker."""
import json
import logging
from datetime import date
from pathlib import Path

import pytest

from common import crypto, db_metrics
from common.embedded_db import EmbeddedDatabase
from models.connection import connect, database, ensure_indexes
from models.user import PlatformBinding
from notifications import fcm as fcm_module
from services.identity import numbers
from standins.fcm import FcmStandin
from standins.miniprogram import MiniProgramPlatformStandin
from standins.sms_gateway import SmsGatewayStandin
from standins.webhooks import WebhookReceiver
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_officer, make_partner
from tests.notifications.support import drain, fast_worker

pytestmark = pytest.mark.slow

FATHER = {"name": "Canarius Fatherling", "phone": "13966120731",
          "id_number": numbers.make_id_number("330381", date(1988, 7, 14), 413, "male")}
MOTHER = {"name": "Canaria Motherling",
          "id_number": numbers.make_id_number("330381", date(1990, 2, 21), 414, "female")}
BABY_NAME = "Canaryling Newborn"
ACCOUNT = "6222028813579246801"
ADDRESS = "88 Canaryvale Lane, Ruian"
MARKERS = {"father's name": FATHER["name"], "father's phone": FATHER["phone"],
           "father's ID number": FATHER["id_number"], "mother's name": MOTHER["name"],
           "mother's ID number": MOTHER["id_number"], "baby's name": BABY_NAME,
           "bank account": ACCOUNT, "address": ADDRESS}


class Captured(logging.Handler):
    """Every log line of the process, formatted as a log file would hold it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def logs():
    root = logging.getLogger()
    handler, level = Captured(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def on_files(app, tmp_path):
    """For this test the app's documents live in an embedded server that keeps them in files."""
    server = EmbeddedDatabase(tmp_path / "db")
    server.start()
    connect(server.uri, app.config["MONGODB_DB"], app.config["MONGODB_TIMEOUT_MS"],
            listeners=[db_metrics.CommandCounter()])
    ensure_indexes()
    try:
        yield server, tmp_path / "db"
    finally:
        connect(app.config["MONGODB_URI"], app.config["MONGODB_DB"],
                app.config["MONGODB_TIMEOUT_MS"], listeners=[db_metrics.CommandCounter()])
        server.stop()


@pytest.fixture
def channels(app, tmp_path, monkeypatch):
    with (FcmStandin() as fcm, SmsGatewayStandin() as sms, MiniProgramPlatformStandin() as mini,
          WebhookReceiver() as hooks):
        settings = {"FCM_CREDENTIALS": fcm.write_service_account(tmp_path),
                    "FCM_BASE_URL": fcm.url, **sms.settings(), **mini.settings(),
                    "MINIPROGRAM_TEMPLATES": {"wechat": {"task_completed": "tmpl-done",
                                                         "application_completed": "tmpl-all"}}}
        for key, value in settings.items():
            monkeypatch.setitem(app.config, key, value)
        yield {"fcm": fcm, "sms": sms, "miniprogram": mini, "webhooks": hooks}
        fcm_module.close_gateways()


def found_in(texts, where: str) -> list[str]:
    return [f"{what} in {where}" for what, marker in MARKERS.items()
            if any(marker in text for text in texts)]


def files_holding(folder: Path, markers: dict[str, str]) -> list[str]:
    raw = b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())
    return [what for what, marker in markers.items() if marker.encode() in raw]


def sign_up(client, sms) -> tuple:
    """The father signs in with a texted code and verifies his real name."""
    client.post("/api/v1/auth/otp", json={"phone": FATHER["phone"]}, expect=202)
    tokens = client.post("/api/v1/auth/login", json={
        "phone": FATHER["phone"], "code": sms.code_for(FATHER["phone"])}, expect=200).get_json()
    me = client.with_headers(Authorization=f"Bearer {tokens['access_token']}")
    me.post("/api/v1/me/real-name", json={"name": FATHER["name"],
                                          "id_number": FATHER["id_number"]}, expect=200)
    return me, tokens["user"]["id"]


def test_no_personal_data_is_found_where_it_does_not_belong(app, client, logs, on_files,
                                                            channels):
    server, folder = on_files
    ws.load_catalogue()
    partner, _ = make_partner(webhook_url=channels["webhooks"].url + "/hooks", events=["*"])
    answers_to_others: list[str] = []

    father, father_id = sign_up(client, channels["sms"])
    father.post("/api/v1/me/devices", json={"token": "canary-phone", "platform": "android"},
                expect=201)
    PlatformBinding(user=father_id, platform="wechat",
                    subject_index=crypto.blind_index("wechat", "openid-canary"),
                    subject_encrypted=crypto.encrypt("openid-canary")).save()
    father.post("/api/v1/me/miniprogram-subscriptions",
                json={"platform": "wechat", "accepted": ["tmpl-done", "tmpl-all"] * 5},
                expect=200)
    materials = ws.newborn_materials(father_id)
    application = father.post("/api/v1/applications", headers={"Idempotency-Key": "canary"}, json={
        "bundle": "newborn", "subject": {"kind": "newborn"}, "materials": materials,
        "form": ws.newborn_form(newborn_name=BABY_NAME, spouse_name=MOTHER["name"],
                                spouse_id_number=MOTHER["id_number"], bank_account=ACCOUNT,
                                household_address=ADDRESS, residence_address=ADDRESS)},
        expect=201).get_json()

    worker = fast_worker(app)
    drain(worker)
    stranger = client.as_(make_citizen(phone="13800009999"))
    answers_to_others.append(stranger.get(f"/api/v1/applications/{application['id']}").get_data(
        as_text=True))
    elsewhere = client.as_(make_officer("civil_affairs"))
    for matter, (department, _) in ws.NEWBORN_STEPS.items():
        officer = client.as_(make_officer(department))
        task = next(t for t in application["tasks"] if t["matter"] == matter)
        answers_to_others += [
            officer.get("/api/v1/workbench/tasks").get_data(as_text=True),
            elsewhere.get(f"/api/v1/workbench/tasks/{task['id']}").get_data(as_text=True)]
        # The officer whose task needs the answers reads its own matter's fields in full (the
        # household registration needs the father's ID number): entitled, so not searched.
        officer.post(f"/api/v1/workbench/tasks/{task['id']}/claim", expect=200)
        officer.post(f"/api/v1/workbench/tasks/{task['id']}/complete",
                     json={"outputs": ws.outputs_for(matter)}, expect=200)
        if matter == "newborn_household_registration":
            channels["fcm"].unregister("canary-phone")  # from now on the SMS stands in for push
        drain(worker)

    received = {
        "push payloads": [json.dumps(m, ensure_ascii=False) for m in channels["fcm"].messages],
        "SMS texts": [m.get("text") or "" for m in channels["sms"].messages],
        "mini-program messages": [r["raw"] for r in channels["miniprogram"].requests
                                  if "subscribe" in r["path"]],
        "webhook bodies": [r["raw"] for r in channels["webhooks"].requests],
    }
    # Each channel was used: a canary that heard nothing proves nothing.
    assert all(received.values()), {k: len(v) for k, v in received.items()}
    # The logs were heard at DEBUG (a control line), the application's submission among them.
    logging.getLogger("canary").debug("control: %s", "heard at DEBUG")
    assert "DEBUG canary control: heard at DEBUG" in logs.lines
    assert any("services.workflow.submission" in line for line in logs.lines)
    leaks = found_in(logs.lines, "the logs") + found_in(answers_to_others, "answers to others")
    for where, texts in received.items():
        leaks += found_in([t if isinstance(t, str) else t.decode() for t in texts], where)

    # The scan of the files can see what rests in the clear (a positive control)...
    database()["canary_control"].insert_one({"text": "Canary control in the clear"})
    server.stop()
    assert files_holding(folder, {"control": "Canary control in the clear"}) == ["control"]
    # ...and sees none of the markers.
    leaks += [f"{what} in the database's files" for what in files_holding(folder, MARKERS)]

    assert leaks == [], "\n".join(leaks)
