"""The relay moves outbox intents into the inbox once, whatever the replays and races."""
from common import db_metrics
from models.application import Application
from models.notification import Delivery, Notification, NotificationSequence
from notifications import relay, templates
from tests import workflow_support as ws
from tests.helpers import capture_commands, make_citizen, make_partner
from tests.notifications.support import application_with, completed, intent


def test_relaying_puts_each_intent_in_the_inbox_and_empties_the_outbox(citizen):
    intents = [intent("application_received", citizen), completed(citizen)]
    app = application_with(citizen, intents)

    assert relay.relay_pending() == 2

    stored = Notification.objects(recipient=str(citizen.id)).order_by("seq")
    assert [n.id for n in stored] == [i["id"] for i in intents]
    assert [n.seq for n in stored] == [1, 2]
    assert stored[0].application == str(app.id)
    fresh = Application.objects.get(id=app.id)
    assert fresh.outbox == [] and fresh.outbox_pending is False


def test_relaying_an_intent_again_stores_it_once_with_the_same_deliveries(citizen):
    first = completed(citizen)
    app = application_with(citizen, [first])
    relay.relay_pending()
    # As if the relay had died after storing but before pulling: the intent is there again.
    Application.objects(id=app.id).update(
        __raw__={"$push": {"outbox": first}, "$set": {"outbox_pending": True}})

    relay.relay_pending()

    assert Notification.objects(recipient=str(citizen.id)).count() == 1
    assert Delivery.objects(notification=first["id"]).count() == 1  # push only: no partner
    assert Application.objects.get(id=app.id).outbox_pending is False


def test_an_intent_written_while_the_relay_works_keeps_the_outbox_flag_up(citizen, monkeypatch):
    app = application_with(citizen, [completed(citizen)])
    late = completed(citizen, matter="citizen_card", department="hrss")
    real_store = relay.store_many

    def store_while_the_workflow_writes(outboxes, **kwargs):
        # The workflow appends a new intent between the relay's read and its clean-up.
        Application.objects(id=app.id).update(
            __raw__={"$push": {"outbox": late}, "$set": {"outbox_pending": True}})
        monkeypatch.setattr(relay, "store_many", real_store)
        return real_store(outboxes, **kwargs)

    monkeypatch.setattr(relay, "store_many", store_while_the_workflow_writes)
    relay.relay_pending()

    fresh = Application.objects.get(id=app.id)
    assert fresh.outbox_pending is True and [i["id"] for i in fresh.outbox] == [late["id"]]
    relay.relay_pending()
    assert Notification.objects(id=late["id"]).count() == 1
    assert Application.objects.get(id=app.id).outbox_pending is False


def test_each_citizen_has_their_own_numbering(citizen):
    other = make_citizen()
    application_with(citizen, [completed(citizen), completed(citizen)])
    application_with(other, [completed(other)])

    relay.relay_pending()

    assert sorted(n.seq for n in Notification.objects(recipient=str(citizen.id))) == [1, 2]
    assert [n.seq for n in Notification.objects(recipient=str(other.id))] == [1]


def test_an_intent_of_unknown_type_or_without_id_is_dropped_without_blocking_the_rest(citizen):
    good = completed(citizen)
    app = application_with(citizen, [intent("mystery", citizen), good])
    Application.objects(id=app.id).update(__raw__={"$push": {"outbox": {"type": "x"}}})

    relay.relay_pending()

    assert [n.id for n in Notification.objects(recipient=str(citizen.id))] == [good["id"]]
    fresh = Application.objects.get(id=app.id)
    assert fresh.outbox == [] and fresh.outbox_pending is False


def test_the_text_says_which_department_finished_and_what_it_issued_never_the_value(citizen):
    ws.load_catalogue()
    leaked = completed(citizen)
    # A producer that wrongly puts the issued value in the intent: only its name is used.
    leaked["data"] = {"outputs": {"citizen_id_number": "330381202401010021"}}
    application_with(citizen, [leaked])

    relay.relay_pending()

    notification = Notification.objects.get(id=leaked["id"])
    assert notification.title == {"en": "Public Security Bureau finished",
                                  "zh-CN": "公安局已办结"}
    assert notification.body["en"] == ("Public Security Bureau completed “Newborn household "
                                       "registration”; issued: Baby's citizen ID number.")
    assert notification.body["zh-CN"] == ("公安局已完成“新生儿出生户口登记”，"
                                          "已签发新生儿公民身份号码。")
    rendered = str(notification.title) + str(notification.body) + str(notification.detail)
    assert "330381202401010021" not in rendered


def test_partners_that_asked_for_an_event_get_a_webhook_delivery_queued(citizen):
    wants, _ = make_partner(webhook_url="http://127.0.0.1:9/hook", events=["task_completed"])
    make_partner(webhook_url="http://127.0.0.1:9/other", events=["application_completed"])
    make_partner(events=["task_completed"])  # no URL: nothing to deliver to
    item = completed(citizen)
    application_with(citizen, [item])

    relay.relay_pending()

    webhooks = Delivery.objects(notification=item["id"], channel="webhook")
    assert [d.target for d in webhooks] == [str(wants.id)]


def test_an_intent_with_malformed_details_is_stored_without_them(citizen):
    odd = completed(citizen)
    odd["data"] = "not a mapping"
    application_with(citizen, [odd])

    relay.relay_pending()

    notification = Notification.objects.get(id=odd["id"])
    assert notification.data == {} and notification.body["en"]


def relay_counting_commands() -> tuple[int, int]:
    """(intents moved, database commands sent) for one relay of every pending outbox."""
    db_metrics.reset()
    moved = relay.relay_pending()
    return moved, db_metrics.count()


def four_intents(citizen) -> list[dict]:
    return [intent("application_received", citizen),
            intent("task_routed", citizen, matter="vaccination_certificate",
                   department="community_health"),
            completed(citizen),
            intent("supplement_requested", citizen, matter="citizen_card", department="hrss",
                   data={"materials": ["marriage_certificate"]})]


def test_relaying_a_big_batch_costs_no_more_commands_than_relaying_one_intent(monkeypatch):
    ws.load_catalogue()
    monkeypatch.setattr(templates, "CHECK_SECONDS", 3600.0)  # no catalogue check mid-test
    make_partner(webhook_url="http://127.0.0.1:9/hook", events=["*"])
    first = make_citizen()
    application_with(first, four_intents(first))
    relay.relay_pending()  # the catalogue names are in the process from now on

    application_with(first, [completed(first)])
    one = relay_counting_commands()
    citizens = [make_citizen() for _ in range(15)]
    for citizen in citizens:
        application_with(citizen, four_intents(citizen))
    many = relay_counting_commands()

    assert (one[0], many[0]) == (1, 60)
    assert many[1] == one[1] <= 9  # the old relay sent ten or more for each intent
    assert Notification.objects.count() == 65
    # Push and webhook for each, an SMS standing by for each supplement request.
    assert Delivery.objects.count() == 65 * 2 + 16
    for citizen in citizens:
        assert sorted(Notification.objects(recipient=str(citizen.id)).scalar("seq")) == [
            1, 2, 3, 4]


def test_numbers_continue_after_the_counter_fell_behind(citizen):
    application_with(citizen, [completed(citizen), completed(citizen)])
    relay.relay_pending()
    # As if a relay had died after storing its notifications, before counting them, and this
    # were another process.
    NotificationSequence.objects(id=str(citizen.id)).delete()
    relay.recent_numbers.clear()
    later = [completed(citizen), completed(citizen)]
    application_with(citizen, later)

    assert relay.relay_pending() == 2

    assert [Notification.objects.get(id=i["id"]).seq for i in later] == [3, 4]
    assert NotificationSequence.objects.get(id=str(citizen.id)).seq == 4


def test_a_relay_leaves_alone_what_another_round_is_still_taking_out(citizen):
    first, late = completed(citizen), completed(citizen, matter="citizen_card")
    app = application_with(citizen, [first])
    earlier = relay.relay_batch(limit=10)  # stored; its intents not yet out of the outbox
    Application.objects(id=app.id).update(
        __raw__={"$push": {"outbox": late}, "$set": {"outbox_pending": True}})

    later = relay.relay_batch(limit=10, relayed=earlier.ids)
    relay.take_out(earlier)
    assert [i["id"] for i in Application.objects.get(id=app.id).outbox] == [late["id"]]
    relay.take_out(later)

    assert (earlier.moved, later.moved) == (1, 1)
    assert [(n.id, n.seq) for n in Notification.objects.order_by("seq")] == [
        (first["id"], 1), (late["id"], 2)]
    fresh = Application.objects.get(id=app.id)
    assert fresh.outbox == [] and fresh.outbox_pending is False
    assert relay.relay_batch(limit=10, relayed=earlier.ids | later.ids).moved == 0


def test_taking_out_matches_each_outbox_by_its_id_alone_in_one_command(citizen, monkeypatch):
    """Beside another field the embedded server weighs every index of applications before it
    finds the document; an outbox that changed since it was read needs no second command."""
    apps = [application_with(citizen, [completed(citizen)]) for _ in range(2)]
    batch = relay.relay_batch(limit=10)
    late = completed(citizen)
    Application.objects(id=apps[0].id).update(
        __raw__={"$push": {"outbox": late}, "$set": {"outbox_pending": True}})
    updates = capture_commands(monkeypatch, lambda name, command: [command["updates"]]
                               if name == "update" and command["update"] == "applications"
                               else [])

    relay.take_out(batch)

    assert len(updates) == 1
    assert sorted(str(u["q"]["_id"]) for u in updates[0]) == sorted(str(a.id) for a in apps)
    assert all(list(u["q"]) == ["_id"] for u in updates[0])
    first, second = (Application.objects.get(id=a.id) for a in apps)
    assert [i["id"] for i in first.outbox] == [late["id"]] and first.outbox_pending is True
    assert second.outbox == [] and second.outbox_pending is False
