"""Outside services failing: FCM answering 500, 429 or too late, the SMS gateway down, a partner's
webhook hanging. Each delays only its own channel (the worker sends them in lanes of their own),
never an API call, and its backlog drains once the service is back. All through the real client
libraries (firebase-admin, requests) against the stand-ins."""
import threading

import pytest

from models.notification import Delivery
from standins.sms_gateway import SmsGatewayStandin
from standins.webhooks import WebhookReceiver
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_officer, make_partner
from tests.notifications.support import application_with, completed, device, fast_worker, intent
from tests.processes import wait_until

TIMEOUTS = {"FCM_TIMEOUT": 0.5, "SMS_TIMEOUT": 0.5, "WEBHOOK_TIMEOUT": 0.5}


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server
        server.answering.set()


@pytest.fixture
def gateway(app, monkeypatch):
    with SmsGatewayStandin() as standin:
        for key, value in standin.settings().items():
            monkeypatch.setitem(app.config, key, value)
        yield standin


@pytest.fixture
def running_worker(app, fcm, monkeypatch):
    """The worker's own loop in a thread, retrying fast, every outside call timing out at 0.5 s."""
    for key, value in TIMEOUTS.items():
        monkeypatch.setitem(app.config, key, value)
    worker = fast_worker(app)

    def run():
        with app.app_context():
            worker.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(10)


def statuses(channel: str, recipient=None) -> dict[str, int]:
    found: dict[str, int] = {}
    mine = {"recipient": str(recipient.id)} if recipient else {}
    for delivery in Delivery.objects(channel=channel, **mine):
        found[delivery.status] = found.get(delivery.status, 0) + 1
    return found


def the_api_still_works(client) -> None:
    """A citizen applies and an officer completes a task, while the outside service is away."""
    ws.load_catalogue()
    parent = ws.make_parent(7)
    application = client.as_(parent).post(
        "/api/v1/applications", headers={"Idempotency-Key": "during-the-outage"},
        json={"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
              "materials": ws.newborn_materials(parent)}, expect=201).get_json()
    task = next(t for t in application["tasks"] if t["matter"] == "birth_medical_certificate")
    health = client.as_(make_officer("health"))
    health.post(f"/api/v1/workbench/tasks/{task['id']}/claim", expect=200)
    health.post(f"/api/v1/workbench/tasks/{task['id']}/complete",
                json={"outputs": ws.outputs_for("birth_medical_certificate")}, expect=200)


def test_a_hanging_partner_webhook_holds_up_neither_pushes_nor_the_api(client, fcm, receiver,
                                                                      running_worker):
    citizen = make_citizen()
    device(citizen, "phone-1")
    make_partner(webhook_url=receiver.url + "/hooks", events=["*"])
    receiver.answering.clear()  # every webhook hangs past its 0.5 s timeout
    backlog = [completed(citizen) for _ in range(10)]
    application_with(citizen, backlog)
    wait_until(lambda: receiver.requests, timeout=20)

    later = completed(citizen)
    application_with(citizen, [later])
    wait_until(lambda: later["id"] in fcm.notification_ids(), timeout=20)
    # The later push went out while the webhooks ahead of it were still being tried one by one
    # (ten sends at 0.5 s each, before a single retry): the webhook lane did not hold it up.
    assert len(receiver.requests) < len(backlog)
    the_api_still_works(client)

    receiver.answering.set()  # the partner answers again: its backlog drains
    wait_until(lambda: "pending" not in statuses("webhook"), timeout=30)
    assert statuses("webhook") == {"delivered": Delivery.objects(channel="webhook").count()}
    events = {event["id"] for event in receiver.events()}
    assert {i["id"] for i in [*backlog, later]} <= events
    assert statuses("push", citizen) == {"delivered": len(backlog) + 1}


@pytest.mark.parametrize("failure", ["500", "429", "timeout"])
def test_fcm_failing_delays_only_the_pushes_and_they_drain_after(client, fcm, receiver,
                                                                 running_worker, failure):
    if failure == "500":
        fcm.unavailable(status=500)
    elif failure == "429":
        fcm.quota(retry_after=1, count=-1)
    else:
        fcm.latency_ms = 2000  # answers after the 0.5 s timeout
    citizen = make_citizen()
    device(citizen, "phone-1")
    make_partner(webhook_url=receiver.url + "/hooks", events=["*"])
    notes = [completed(citizen) for _ in range(5)]
    application_with(citizen, notes)

    # The partner hears of every event while FCM still refuses or hangs.
    wait_until(lambda: statuses("webhook").get("delivered") == len(notes), timeout=30)
    assert fcm.messages == [] and "delivered" not in statuses("push")
    wait_until(lambda: fcm.stats()["requests"] >= 1, timeout=20)
    the_api_still_works(client)

    fcm.healthy()
    wait_until(lambda: statuses("push", citizen) == {"delivered": len(notes)}, timeout=40)
    assert {i["id"] for i in notes} <= set(fcm.notification_ids())


def test_the_sms_gateway_down_delays_only_the_texts_and_they_drain_after(
        client, fcm, gateway, receiver, running_worker):
    gateway.fail(count=1000)  # every text refused with 503
    # The partner first: the running worker relays an intent as soon as it is written, and
    # a partner made after that relay is, rightly, not sent what came before it.
    make_partner(webhook_url=receiver.url + "/hooks", events=["*"])
    phoneless_push = make_citizen(phone="13800009999")  # no device: only SMS can reach them
    rejected = [intent("application_rejected", phoneless_push, data={"reason": "x"})
                for _ in range(3)]
    application_with(phoneless_push, rejected)
    reachable = make_citizen()
    device(reachable, "phone-2")
    others = [completed(reachable) for _ in range(3)]
    application_with(reachable, others)

    wait_until(lambda: statuses("sms").get("pending") == len(rejected)
               and Delivery.objects(channel="sms", sends__gte=1).count() == len(rejected),
               timeout=30)
    # Pushes and webhooks went out while every text was refused.
    wait_until(lambda: {i["id"] for i in others} <= set(fcm.notification_ids()), timeout=20)
    wait_until(lambda: statuses("webhook").get("delivered") == len(rejected) + len(others),
               timeout=20)
    assert gateway.messages == []
    the_api_still_works(client)

    gateway.healthy()
    wait_until(lambda: statuses("sms") == {"delivered": len(rejected)}, timeout=40)
    assert len(gateway.messages) == len(rejected)
    assert {m["to"] for m in gateway.messages} == {"13800009999"}
