"""A newborn application from submission to the last department: the parent's phone hears from
each department as it finishes, the inbox keeps it all in order, the live stream shows it."""
import json
import threading

import requests
from werkzeug.serving import make_server

from services.identity.tokens import issue_access_token
from services.workflow import handling, submission
from tests import workflow_support as ws
from tests.api.test_events import notifications_in, parse
from tests.helpers import make_officer
from tests.notifications.support import fast_worker
from tests.processes import wait_until

DEPARTMENT_NAMES_ZH = {"health": "卫生健康局", "community_health": "社区卫生服务中心",
                       "public_security": "公安局", "medical_insurance": "医疗保障局",
                       "taxation": "税务局", "hrss": "人力资源和社会保障局"}


class LiveStream:
    """GET /me/events over a real socket, read in a thread until told how many to expect."""

    def __init__(self, app, user):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        token, _ = issue_access_token(user)
        self.response = requests.get(
            f"http://127.0.0.1:{self.server.server_port}/api/v1/me/events",
            headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=60)
        self.text = ""
        self.events: list[dict] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        try:
            for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
                self.text += chunk
                self.events = notifications_in(parse(self.text.rsplit("\n\n", 1)[0] + "\n\n"))
        except (requests.RequestException, AttributeError, OSError):
            pass  # closed by the test

    def close(self):
        self.response.close()
        self.server.shutdown()


def drain(worker):
    for _ in range(20):
        if not worker.run_once():
            return


def test_the_parents_phone_hears_from_each_department_as_the_newborn_tasks_complete(
        app, fcm, client, monkeypatch):
    ws.load_catalogue()
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 60.0)
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.05)
    parent = ws.make_parent(locale="zh-CN")
    as_parent = client.as_(parent)
    as_parent.post("/api/v1/me/devices", json={"token": "parent-phone", "platform": "android"},
                   expect=201)
    officers = {d: make_officer(d) for d in ws.NEWBORN_DEPARTMENTS}
    worker = fast_worker(app)
    stream = LiveStream(app, parent)
    try:
        application = submission.submit_application(
            applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
            form=ws.newborn_form(), materials=ws.newborn_materials(parent),
            idempotency_key="e2e-1")
        drain(worker)

        completed_in_order = []
        for matter, (department, _) in ws.NEWBORN_STEPS.items():
            task = application.task_for(matter)
            handling.claim_task(task_id=task.id, officer=officers[department])
            application = handling.complete_task(task_id=task.id, officer=officers[department],
                                                 outputs=ws.outputs_for(matter))
            drain(worker)
            # This department's push is at the phone before the next department starts.
            done = [m for m in fcm.messages if m["data"]["type"] == "task_completed"]
            assert len(done) == len(completed_in_order) + 1
            assert done[-1]["notification"]["title"] == f"{DEPARTMENT_NAMES_ZH[department]}已办结"
            completed_in_order.append(done[-1]["data"]["notification_id"])

        inbox = as_parent.get("/api/v1/me/notifications?page_size=100",
                              headers={"Accept-Language": "zh-CN"}, expect=200).get_json()
        oldest_first = inbox["items"][::-1]
        wait_until(lambda: len(stream.events) >= len(oldest_first), timeout=10, interval=0.05)
    finally:
        stream.close()

    assert application.status == "completed"
    types = [n["type"] for n in oldest_first]
    assert types[0] == "application_received" and types[-1] == "application_completed"
    assert [n["id"] for n in oldest_first if n["type"] == "task_completed"] == completed_in_order
    assert [n["seq"] for n in oldest_first] == list(range(1, len(oldest_first) + 1))
    registered = next(n for n in oldest_first if n["matter"] == "newborn_household_registration"
                      and n["type"] == "task_completed")
    assert registered["body"] == "公安局已完成“新生儿出生户口登记”，已签发新生儿公民身份号码。"
    assert inbox["unread"] == len(oldest_first)
    # One push per notification, each once, to the parent's phone; never the ID number itself.
    assert sorted(fcm.notification_ids()) == sorted(n["id"] for n in oldest_first)
    assert {m["token"] for m in fcm.messages} == {"parent-phone"}
    assert ws.baby_id_number() not in json.dumps(fcm.messages, ensure_ascii=False)
    # The live stream showed the same notifications, in the same order.
    assert [e["data"]["id"] for e in stream.events] == [n["id"] for n in oldest_first]
