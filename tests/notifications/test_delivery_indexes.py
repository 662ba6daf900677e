"""The deliveries' indexes hold only the deliveries their queries read, and a database an older
version made is brought to them at start."""
from datetime import timedelta

from models.base import utcnow
from models.connection import database, ensure_indexes
from models.notification import NO_LEASE, Delivery
from notifications.leases import Leases
from services.inbox import notifications as inbox

OLD_INDEXES = {
    "status_1_next_attempt_at_1": [("status", 1), ("next_attempt_at", 1)],
    "notification_1": [("notification", 1)],
    "status_1_updated_at_-1": [("status", 1), ("updated_at", -1)],
    "channel_1_target_1_created_at_1": [("channel", 1), ("target", 1), ("created_at", 1)],
}


def index_used(selector: dict, sort: dict) -> str | None:
    explained = database().command("explain", {"find": Delivery._get_collection().name,
                                               "filter": selector, "sort": sort})
    plan = explained["queryPlanner"]["winningPlan"]
    while plan.get("stage") != "IXSCAN" and "inputStage" in plan:
        plan = plan["inputStage"]
    return plan.get("indexName")


def delivery(n: int, status: str, **fields) -> dict:
    now = utcnow()
    return {"_id": f"n{n}:push", "notification": f"n{n}", "recipient": "r", "type": "task_routed",
            "channel": "push", "status": status, "attempts": 0, "sends": 0,
            "next_attempt_at": now - timedelta(seconds=1), "lease_owner": None,
            "lease_until": NO_LEASE, "state": {}, "created_at": now,
            "updated_at": now, **fields}


def test_a_database_an_older_version_made_keeps_only_the_deliveries_indexes_of_today():
    deliveries = Delivery._get_collection()
    for name in ("pending_due", "expiry", "failed_latest"):
        deliveries.drop_index(name)
    for name, keys in OLD_INDEXES.items():  # as an older version built them
        deliveries.create_index(keys, name=name)
    deliveries.create_index("expires_at", name="expires_at_1", expireAfterSeconds=0)

    ensure_indexes()
    ensure_indexes()  # again, as every later process does

    built = deliveries.index_information()
    assert set(built) == {"_id_", "pending_due", "expiry", "failed_latest"}
    assert built["pending_due"]["partialFilterExpression"] == {"status": "pending"}
    assert built["failed_latest"]["partialFilterExpression"] == {"status": "failed"}
    assert built["expiry"]["expireAfterSeconds"] == 0 and built["expiry"]["sparse"] is True
    Delivery._meta.pop("_indexes_ensured", None)  # as a fresh process sees it
    Delivery.ensure_indexes()  # mongoengine's own request: no conflict


def test_what_is_due_and_what_failed_are_found_on_their_partial_indexes(app):
    deliveries = Delivery._get_collection()
    deliveries.insert_many([delivery(1, "pending"), delivery(2, "failed"),
                            delivery(3, "delivered", expires_at=utcnow() + timedelta(days=1)),
                            delivery(4, "standby")])
    now = utcnow()

    assert index_used({"status": "pending", "next_attempt_at": {"$lte": now}},
                      {"next_attempt_at": 1}) == "pending_due"
    assert index_used({"status": "failed"}, {"updated_at": -1}) == "failed_latest"
    claim, claimed = Leases(app.config, "worker-a").claim(now)
    assert [d.id for d in claimed] == ["n1:push"]
    failed, total = inbox.failed_deliveries()
    assert [d.id for d in failed] == ["n2:push"] and total == 1
