"""The worker delivers every channel at least once, with leases, retries and citizens' wishes."""
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from common import db_metrics
from models.application import Application
from models.base import utcnow
from models.device import Device
from models.notification import ChannelPause, Delivery, Notification
from models.preferences import NotificationPreferences, QuietHours
from notifications import lanes, relay, templates
from notifications.worker import Finisher, OutboxWatcher
from standins.sms_gateway import SmsGatewayStandin
from tests import workflow_support as ws
from tests.helpers import make_citizen
from tests.notifications.support import (
    application_with,
    completed,
    device,
    drain,
    fast_worker,
    intent,
    now_ms,
    push_of,
)
from tests.processes import wait_until


def test_each_device_gets_the_push_in_its_own_language(app, fcm, citizen):
    ws.load_catalogue()
    device(citizen, "phone-en", locale="en")
    device(citizen, "tablet-zh", locale="zh-CN")
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    texts = {m["token"]: m["notification"]["title"] for m in fcm.messages}
    assert texts == {"phone-en": "Public Security Bureau finished", "tablet-zh": "公安局已办结"}
    assert {m["data"]["notification_id"] for m in fcm.messages} == {item["id"]}
    delivery = push_of(item["id"])
    assert delivery.status == "delivered" and delivery.lease_owner is None
    assert sorted(delivery.state["reached"]) == ["phone-en", "tablet-zh"]


def round_commands(worker) -> int:
    db_metrics.reset()
    worker.run_once()
    return db_metrics.count()


def test_a_round_pushing_forty_notifications_costs_the_commands_of_a_round_pushing_one(
        app, fcm, monkeypatch):
    monkeypatch.setattr(templates, "CHECK_SECONDS", 3600.0)  # no catalogue check mid-test
    worker = fast_worker(app)
    first = make_citizen()
    device(first, "first-phone")
    application_with(first, [completed(first), completed(first, matter="citizen_card")])
    drain(worker)  # the catalogue names and the FCM client are in the process from now on

    application_with(first, [completed(first)])
    one = round_commands(worker)
    citizens = [make_citizen() for _ in range(20)]
    for n, citizen in enumerate(citizens):
        device(citizen, f"phone-{n}")
        application_with(citizen, [completed(citizen), completed(citizen, matter="citizen_card")])
    many = round_commands(worker)

    assert many == one  # the old worker sent 13 for each notification
    assert len(fcm.messages) == 3 + 40
    assert Delivery.objects(channel="push", status="delivered").count() == 43
    assert {m["token"] for m in fcm.messages} == {"first-phone", *(f"phone-{n}"
                                                                   for n in range(20))}


def test_the_writes_after_several_rounds_cost_the_commands_of_one(app, fcm, monkeypatch):
    monkeypatch.setattr(templates, "CHECK_SECONDS", 3600.0)  # no catalogue check mid-test
    worker = fast_worker(app)
    citizens = [make_citizen() for _ in range(3)]
    for n, citizen in enumerate(citizens):
        device(citizen, f"phone-{n}")
    finisher = Finisher(worker.channels.push, flush_seconds=3600)  # writes when closed
    items = []
    for citizen in citizens:  # one completion a round, as changes wake a busy worker
        items.append(completed(citizen))
        application_with(citizen, [items[-1]])
        worker._round(utcnow(), finisher)
    assert len(fcm.messages) == 3  # pushed in their rounds, before anything was written

    sent: list[str] = []
    counted = db_metrics.CommandCounter.started

    def started(self, event):
        if threading.current_thread().name == "round-finisher":  # not another test's leftovers
            sent.append(event.command_name)
        counted(self, event)

    monkeypatch.setattr(db_metrics.CommandCounter, "started", started)
    finisher.close()

    # The outcomes, the inbox counters, the outboxes emptied: once for the three rounds.
    assert sent == ["update", "update", "update"]
    assert all(push_of(item["id"]).status == "delivered" for item in items)
    assert Application.objects(outbox_pending=True).count() == 0
    assert all(not application.outbox for application in Application.objects)


def test_a_device_without_a_language_gets_the_citizens(app, fcm):
    ws.load_catalogue()
    chinese = make_citizen(locale="zh-CN")
    device(chinese, "phone")
    application_with(chinese, [completed(chinese)])

    drain(fast_worker(app))

    assert fcm.messages[0]["notification"]["title"] == "公安局已办结"


def test_tokens_fcm_reports_unregistered_are_removed(app, fcm, citizen):
    device(citizen, "uninstalled")
    device(citizen, "alive")
    fcm.unregister("uninstalled")
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    assert [d.token for d in Device.objects(user=str(citizen.id))] == ["alive"]
    assert push_of(item["id"]).status == "delivered"


def test_a_citizen_without_any_device_still_has_the_inbox(app, fcm, citizen):
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    assert Notification.objects(id=item["id"]).count() == 1
    assert push_of(item["id"]).status == "skipped"
    assert fcm.messages == []


def test_quota_answers_hold_every_push_until_retry_after(app, fcm, citizen):
    device(citizen, "phone")
    first, second = completed(citizen), completed(citizen, matter="citizen_card")
    application_with(citizen, [first, second])
    fcm.quota(retry_after=30, count=1)
    worker = fast_worker(app, NOTIFICATION_BATCH_SIZE=1)
    relay.relay_pending()
    start = now_ms()

    worker.run_once(start)  # one push meets the quota answer

    [refused] = fcm.requests
    hit = refused["data"]["notification_id"]
    waiting = ({first["id"], second["id"]} - {hit}).pop()
    held = push_of(hit)
    assert held.status == "pending" and held.next_attempt_at >= start + timedelta(seconds=30)
    assert ChannelPause.objects.get(id="push").until >= start + timedelta(seconds=30)
    drain(worker, start + timedelta(seconds=5))  # the other push waits as well
    assert len(fcm.requests) == 1
    assert push_of(waiting).status == "pending"

    drain(worker, start + timedelta(seconds=31))

    assert sorted(fcm.notification_ids()) == sorted([first["id"], second["id"]])
    assert push_of(hit).attempts == 2
    assert push_of(waiting).attempts == 1  # waiting for the quota cost it nothing


def test_while_fcm_is_down_the_backlog_waits_and_drains_once_it_is_back(app, fcm, citizen):
    device(citizen, "phone")
    items = [completed(citizen, matter=f"matter_{n}") for n in range(6)]
    application_with(citizen, items)
    fcm.unavailable()
    worker = fast_worker(app)
    relay.relay_pending()
    moment = now_ms()

    for step in range(3):
        drain(worker, moment + timedelta(seconds=step))
    assert fcm.messages == []
    assert {push_of(i["id"]).status for i in items} == {"pending"}
    assert Notification.objects(recipient=str(citizen.id)).count() == 6  # the inbox has them

    fcm.healthy()
    drain(worker, moment + timedelta(seconds=10))

    assert sorted(fcm.notification_ids()) == sorted(i["id"] for i in items)
    assert {push_of(i["id"]).status for i in items} == {"delivered"}


def test_after_its_retry_budget_a_delivery_is_failed_and_admins_see_it(app, fcm, citizen,
                                                                        as_admin):
    device(citizen, "phone")
    item = completed(citizen)
    application_with(citizen, [item])
    fcm.unavailable()
    worker = fast_worker(app, NOTIFICATION_MAX_ATTEMPTS=3)
    relay.relay_pending()
    moment = now_ms()

    for step in range(6):
        drain(worker, moment + timedelta(seconds=step))

    assert push_of(item["id"]).status == "failed"
    assert fcm.stats()["answered"] == {"503": 3}
    failed = as_admin.get("/api/v1/admin/notifications/failed", expect=200).get_json()
    assert [(d["notification"], d["channel"], d["attempts"]) for d in failed["items"]] == [
        (item["id"], "push", 3)]
    assert "UnavailableError" in failed["items"][0]["last_error"]

    fcm.healthy()
    as_admin.post(f"/api/v1/admin/notifications/failed/{item['id']}:push/retry", expect=200)
    drain(worker)
    assert push_of(item["id"]).status == "delivered"


def quiet_now(citizen, now):
    """Quiet hours around `now`, in the citizen's (Shanghai) time: an hour ago to an hour on."""
    local = now.astimezone(ZoneInfo("Asia/Shanghai"))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    NotificationPreferences(user=str(citizen.id), quiet_hours=QuietHours(
        start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))).save()
    return datetime.combine(end.date(), end.time().replace(second=0, microsecond=0),
                            tzinfo=end.tzinfo).astimezone(UTC)


def test_quiet_hours_hold_push_until_morning_while_the_inbox_has_it_at_once(app, fcm, citizen):
    device(citizen, "phone")
    item = completed(citizen)
    application_with(citizen, [item])
    relay.relay_pending()
    now = now_ms()
    morning = quiet_now(citizen, now)
    worker = fast_worker(app)

    drain(worker, now)

    assert Notification.objects(id=item["id"]).count() == 1
    held = push_of(item["id"])
    assert (held.status, held.held_until, held.next_attempt_at) == ("pending", morning, morning)
    assert fcm.messages == []
    drain(worker, morning - timedelta(minutes=1))
    assert fcm.messages == []

    drain(worker, morning)

    assert fcm.notification_ids() == [item["id"]]
    assert push_of(item["id"]).attempts == 1


def test_a_citizen_who_turned_push_off_gets_none(app, fcm, citizen):
    device(citizen, "phone")
    NotificationPreferences(user=str(citizen.id), push=False).save()
    item = completed(citizen)
    application_with(citizen, [item])

    drain(fast_worker(app))

    assert fcm.messages == [] and push_of(item["id"]).status == "skipped"


def sms_settings(app, monkeypatch, gateway):
    for key, value in {"SMS_ADAPTER": "http", "SMS_GATEWAY_URL": gateway.url,
                       "SMS_GATEWAY_KEY": gateway.key,
                       "SMS_GATEWAY_SECRET": gateway.secret}.items():
        monkeypatch.setitem(app.config, key, value)


def test_a_supplement_request_goes_by_sms_when_no_push_reaches_the_citizen(app, fcm,
                                                                           monkeypatch):
    ws.load_catalogue()
    parent = make_citizen(phone="13800001234", locale="zh-CN")
    device(parent, "uninstalled")
    fcm.unregister("uninstalled")
    item = intent("supplement_requested", parent, matter="newborn_household_registration",
                  department="public_security",
                  data={"materials": ["marriage_certificate"], "reason": "照片不清晰"})
    application_with(parent, [item])

    with SmsGatewayStandin() as gateway:
        sms_settings(app, monkeypatch, gateway)
        drain(fast_worker(app))

    [sms] = gateway.messages
    assert sms["to"] == "13800001234"
    assert sms["text"] == ("“新生儿出生户口登记”需要补正："
                           "公安局办理“新生儿出生户口登记”需要您补正：结婚证。")
    assert "照片不清晰" not in sms["text"]  # an officer's words stay in the app
    assert Delivery.objects.get(id=f"{item['id']}:sms").status == "delivered"
    assert Notification.objects.get(id=item["id"]).detail["zh-CN"] == "原因：照片不清晰"


def test_no_sms_when_push_reached_the_citizen(app, fcm, monkeypatch):
    parent = make_citizen(phone="13800001234")
    device(parent, "phone")
    item = intent("application_rejected", parent, data={"reason": "duplicate"})
    application_with(parent, [item])

    with SmsGatewayStandin() as gateway:
        sms_settings(app, monkeypatch, gateway)
        drain(fast_worker(app))

    assert gateway.messages == []
    assert Delivery.objects.get(id=f"{item['id']}:sms").status == "skipped"


def test_sms_steps_in_when_push_keeps_failing_for_too_long(app, fcm, monkeypatch):
    parent = make_citizen(phone="13800001234")
    device(parent, "phone")
    fcm.unavailable()
    item = intent("application_rejected", parent, data={"reason": "duplicate"})
    application_with(parent, [item])
    worker = fast_worker(app, NOTIFICATION_SMS_FALLBACK_AFTER=60)
    relay.relay_pending()
    now = now_ms()

    with SmsGatewayStandin() as gateway:
        sms_settings(app, monkeypatch, gateway)
        drain(worker, now)
        assert gateway.messages == []
        drain(worker, now + timedelta(seconds=61))

    assert len(gateway.messages) == 1
    assert push_of(item["id"]).status == "pending"  # push keeps trying as well


def test_events_the_citizen_may_miss_never_go_by_sms(app, fcm, monkeypatch):
    parent = make_citizen(phone="13800001234")
    item = completed(parent)
    application_with(parent, [item])

    with SmsGatewayStandin() as gateway:
        sms_settings(app, monkeypatch, gateway)
        drain(fast_worker(app))

    assert gateway.messages == []
    assert not Delivery.objects(id=f"{item['id']}:sms")


def test_the_worker_command_delivers_what_is_due_and_exits_with_once(app, fcm, citizen):
    device(citizen, "phone")
    item = completed(citizen)
    application_with(citizen, [item])

    result = app.test_cli_runner().invoke(args=["notifications", "worker", "--once"])

    assert result.exit_code == 0, result.output
    assert fcm.notification_ids() == [item["id"]]
    assert Notification.objects(id=item["id"]).count() == 1


class Running:
    """A worker looping in a thread, as `flask notifications worker` runs it."""

    def __init__(self, app, **config):
        self.app, self.worker = app, fast_worker(app, **config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with self.app.app_context():
            self.worker.run()

    def __enter__(self):
        self.thread.start()
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the worker did not stop"


def test_an_idle_worker_is_woken_by_a_new_intent_rather_than_by_its_clock(app, fcm, citizen):
    device(citizen, "phone")
    # Its clock alone would not look again within the test.
    with Running(app, NOTIFICATION_WAKE_ON_CHANGES=True, NOTIFICATION_POLL_SECONDS=600,
                 NOTIFICATION_WATCHED_POLL_SECONDS=600) as worker:
        wait_until(lambda: worker.watcher is not None and worker.watcher.watching, timeout=10)
        item = completed(citizen)
        application_with(citizen, [item])

        wait_until(lambda: fcm.notification_ids() == [item["id"]], timeout=30, interval=0.05)
    assert push_of(item["id"]).status == "delivered"


def test_without_change_streams_the_worker_polls(app, fcm, citizen, monkeypatch):
    # A standalone MongoDB server refuses change streams; so does this one, told nonsense.
    monkeypatch.setattr(OutboxWatcher, "PIPELINE", [{"$noSuchStage": {}}])
    device(citizen, "phone")
    with Running(app, NOTIFICATION_WAKE_ON_CHANGES=True, NOTIFICATION_POLL_SECONDS=0.05,
                 NOTIFICATION_WATCHED_POLL_SECONDS=600) as worker:
        wait_until(lambda: worker.watcher is not None, timeout=10)
        item = completed(citizen)
        application_with(citizen, [item])

        wait_until(lambda: fcm.notification_ids() == [item["id"]], timeout=30, interval=0.05)
        assert worker.watcher.watching is False



def test_a_worker_woken_by_changes_still_delivers_what_comes_due_without_one(app, fcm, citizen):
    device(citizen, "phone")
    with Running(app, NOTIFICATION_WAKE_ON_CHANGES=True, NOTIFICATION_POLL_SECONDS=600,
                 NOTIFICATION_WATCHED_POLL_SECONDS=0.2) as worker:
        wait_until(lambda: worker.watcher is not None and worker.watcher.watching, timeout=10)
        woken = completed(citizen)
        application_with(citizen, [woken])
        wait_until(lambda: fcm.notification_ids() == [woken["id"]], timeout=30, interval=0.05)
        # Stored without an outbox (a replay, another process's relay): its push is queued due,
        # and no change wakes the worker for it.
        due = completed(citizen)
        relay.store(due)

        wait_until(lambda: sorted(fcm.notification_ids()) == sorted([woken["id"], due["id"]]),
                   timeout=30, interval=0.05)
    assert push_of(due["id"]).status == "delivered"


def test_a_worker_woken_by_changes_sends_the_sms_its_push_called_up_without_waiting(
        app, fcm, monkeypatch):
    ws.load_catalogue()
    # Its lanes would not look again by themselves within the test.
    monkeypatch.setattr(lanes, "WATCHED_IDLE_SECONDS", 600.0)
    parent = make_citizen(phone="13800001234", locale="zh-CN")
    device(parent, "uninstalled")
    fcm.unregister("uninstalled")
    with SmsGatewayStandin() as gateway:
        sms_settings(app, monkeypatch, gateway)
        with Running(app, NOTIFICATION_WAKE_ON_CHANGES=True, NOTIFICATION_POLL_SECONDS=600,
                     NOTIFICATION_WATCHED_POLL_SECONDS=600) as worker:
            wait_until(lambda: worker.watcher is not None and worker.watcher.watching,
                       timeout=10)
            item = intent("supplement_requested", parent,
                          matter="newborn_household_registration",
                          department="public_security",
                          data={"materials": ["marriage_certificate"]})
            application_with(parent, [item])

            wait_until(lambda: len(gateway.messages) == 1, timeout=30, interval=0.05)
    assert gateway.messages[0]["to"] == "13800001234"
    assert Delivery.objects.get(id=f"{item['id']}:sms").status == "delivered"
