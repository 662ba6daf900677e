"""Leases: a dead worker's deliveries are taken over once its lease expires, and a worker whose
lease was taken over cannot record over the new holder."""
from datetime import timedelta

from notifications import relay
from notifications.leases import Outcome
from tests.notifications.support import (
    application_with,
    completed,
    device,
    drain,
    fast_worker,
    now_ms,
    push_of,
)


def test_a_dead_workers_lease_expires_and_another_worker_delivers(app, fcm, citizen):
    device(citizen, "phone")
    item = completed(citizen)
    application_with(citizen, [item])
    dead, alive = fast_worker(app, NOTIFICATION_LEASE_SECONDS=60), fast_worker(app)
    relay.relay_pending()
    now = now_ms()
    claim, claimed = dead.leases.claim(now)  # ... and the process dies here
    assert [d.id for d in claimed] == [f"{item['id']}:push"]

    drain(alive, now + timedelta(seconds=30))
    assert fcm.messages == []  # still leased

    drain(alive, now + timedelta(seconds=61))
    assert fcm.notification_ids() == [item["id"]]
    assert push_of(item["id"]).attempts == 2


def test_a_worker_whose_lease_was_taken_over_cannot_record_over_the_new_holder(app, fcm,
                                                                               citizen):
    device(citizen, "phone")
    item = completed(citizen)
    application_with(citizen, [item])
    slow, other = fast_worker(app), fast_worker(app)
    relay.relay_pending()
    now = now_ms()
    slow_claim, [slow_delivery] = slow.leases.claim(now)
    other_claim, [taken] = other.leases.claim(now + timedelta(seconds=31))  # the lease expired
    other.channels.push.deliver(other_claim, [taken], now + timedelta(seconds=31))

    assert slow.leases.record(slow_delivery, slow_claim, Outcome("failed", error="late"),
                              now) is None
    assert push_of(item["id"]).status == "delivered"
