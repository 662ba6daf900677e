"""FCM down for a while: citizens and officers carry on through the API, pushes wait, then drain."""
import threading

from models.application import Application
from models.notification import Delivery
from tests import workflow_support as ws
from tests.helpers import make_officer
from tests.notifications.support import fast_worker
from tests.processes import wait_until


def test_an_fcm_outage_fails_no_api_call_and_the_backlog_drains_when_it_is_back(app, fcm,
                                                                                 client):
    ws.load_catalogue()
    fcm.unavailable()  # 503 to every push until told otherwise
    parent = ws.make_parent()
    as_parent = client.as_(parent)
    as_parent.post("/api/v1/me/devices", json={"token": "phone", "platform": "ios"}, expect=201)
    health = client.as_(make_officer("health"))
    worker = fast_worker(app)

    def run_worker():
        with app.app_context():
            worker.run()

    background = threading.Thread(target=run_worker, daemon=True)
    background.start()
    try:
        application = as_parent.post(
            "/api/v1/applications", headers={"Idempotency-Key": "outage-1"},
            json={"bundle": "newborn", "subject": {"kind": "newborn"},
                  "form": ws.newborn_form(), "materials": ws.newborn_materials(parent)},
            expect=201).get_json()
        task = next(t for t in application["tasks"] if t["matter"] == "birth_medical_certificate")
        health.post(f"/api/v1/workbench/tasks/{task['id']}/claim", expect=200)
        health.post(f"/api/v1/workbench/tasks/{task['id']}/complete",
                    json={"outputs": ws.outputs_for("birth_medical_certificate")}, expect=200)

        def inbox():
            return as_parent.get("/api/v1/me/notifications?page_size=100",
                                 expect=200).get_json()["items"]

        # The inbox is complete while FCM is still down; the pushes have been tried and refused.
        wait_until(lambda: not Application.objects(outbox_pending=True).count(), timeout=20)
        assert any(n["type"] == "task_completed" for n in inbox())
        wait_until(lambda: fcm.stats()["requests"] >= 3, timeout=20)
        assert fcm.messages == []
        assert Delivery.objects(channel="push", status="delivered").count() == 0

        fcm.healthy()
        expected = {n["id"] for n in inbox()}
        wait_until(lambda: Delivery.objects(channel="push", status="pending").count() == 0,
                   timeout=20)
    finally:
        worker.stop()
        background.join(10)

    assert set(fcm.notification_ids()) == expected
    assert Delivery.objects(channel="push").count() == len(expected)
    assert {d.status for d in Delivery.objects(channel="push")} == {"delivered"}

