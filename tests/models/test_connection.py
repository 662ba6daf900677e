import pymongo

from common import rate_limits
from models.application import Application
from models.connection import client_options, ensure_indexes, retries_deduplicated
from models.user import User


def test_an_index_whose_definition_changed_is_rebuilt_at_start():
    users = User._get_collection()
    users.drop_index("username_1")
    users.create_index("username", name="username_1")  # an older, non-unique definition

    ensure_indexes()

    rebuilt = users.index_information()["username_1"]
    assert rebuilt.get("unique") is True


def test_indexes_an_older_version_built_and_no_query_uses_are_dropped_at_start():
    applications = Application._get_collection()
    applications.drop_index("outbox_pending_true")
    # As an older version built them: every write to an application kept their keys.
    applications.create_index("tasks.elicences", name="tasks.elicences_1")
    applications.create_index("figures_batches.id", name="figures_batches.id_1", sparse=True)
    applications.create_index("outbox_pending", name="outbox_pending_1")
    queue = [("tasks.department", 1), ("tasks.region", 1), ("tasks.status", 1)]
    applications.create_index(queue, name="tasks.department_1_tasks.region_1_tasks.status_1")

    ensure_indexes()
    ensure_indexes()  # again, as every later process does: nothing left to drop

    built = applications.index_information()
    assert not {"tasks.elicences_1", "figures_batches.id_1", "outbox_pending_1",
                "tasks.department_1_tasks.region_1_tasks.status_1"} & set(built)
    assert built["tasks.queue_1"]["key"] == [("tasks.queue", 1)]
    assert built["outbox_pending_true"]["partialFilterExpression"] == {"outbox_pending": True}
    Application._meta.pop("_indexes_ensured", None)  # as a fresh process sees it
    Application.ensure_indexes()  # mongoengine's own request: no conflict


def test_indexes_rebuilt_at_start_match_what_every_later_process_asks_for():
    """Another process (a second API, a test, a command) asks mongoengine for the same indexes;
    rebuilt with other options, they conflicted there and were rebuilt back and forth."""
    users = User._get_collection()
    users.drop_index("username_1")
    users.create_index("username", name="username_1")
    ensure_indexes()
    User._meta.pop("_indexes_ensured", None)  # as a fresh process sees it

    User.ensure_indexes()  # mongoengine's own request: no conflict


def test_production_s_majority_writes_and_retries_work_on_the_embedded_server(database_server):
    """Production writes with w=majority and retryable writes; the embedded server (a standalone)
    accepts the same options, so the tests and `make bench` run them too."""
    options = client_options(durable=True)
    client = pymongo.MongoClient(database_server.uri, **options)
    try:
        things = client.onething_test.majority_things
        assert things.write_concern.document == {"w": "majority", "wtimeout": 10_000}
        things.insert_one({"_id": "a", "n": 1})
        things.update_one({"_id": "a"}, {"$inc": {"n": 1}})
        found = things.find_one_and_update({"_id": "a"}, {"$inc": {"n": 1}},
                                           return_document=pymongo.ReturnDocument.AFTER)
        assert found["n"] == 3
        things.drop()
    finally:
        client.close()
    # Elsewhere (the embedded server) the driver does not retry: nothing deduplicates a retry.
    assert client_options(durable=False) == {"retryWrites": False, "retryReads": False}


def test_production_on_the_embedded_server_does_not_retry(database_server, app):
    """The embedded server deduplicates no retried write and scans its record of every retryable
    write at each new one: production's clients retry only against a server that deduplicates."""
    assert not retries_deduplicated(database_server.uri, 2000)
    on_embedded = client_options(durable=True, retries=False)
    assert on_embedded == {"w": "majority", "wTimeoutMS": 10_000, "retryWrites": False,
                           "retryReads": False}
    assert client_options(durable=True)["retryWrites"] is True  # a replica set
    # The rate limits' own client follows the app's decision.
    config = {**app.config, "DATABASE_RETRIES": False}
    assert rate_limits.storage_options(config)["retryWrites"] is False
    assert "retryWrites" not in rate_limits.storage_options({**config, "DATABASE_RETRIES": True})
