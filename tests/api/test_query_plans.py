"""Every query a request sends uses an index, on a birth's journey and on the service loop around
it (offers, ratings and rectifications, public figures, the service desk, regions, the queue's
counts) and in the worker's rounds and sweeps: the filters are captured from real requests (what
the app sends, not what a test imagines it sends), then the server's explain() plans each one; a
collection scan fails. A scan costs more with every application ever made.

The server plans a filter of several clauses on a compound index that covers them, or else on
the first clause (in the filter's order) one of its indexes serves, and checks the rest on the
documents found. Its explain() reports only the first of these two choices, so a filter explain
calls a scan is explained again clause by clause, as the server then executes it.
"""
from datetime import UTC, date, datetime, timedelta

import pytest

from models.connection import database
from notifications import relay
from services.desk import sweeper as desk_sweeper
from services.identity import numbers
from services.workflow import backfill, sweeper
from tests import loop_support as loop
from tests import workflow_support as ws
from tests.helpers import (
    capture_commands,
    make_agent,
    make_citizen,
    make_family_member,
    make_material,
    make_officer,
)
from tests.notifications.conftest import fcm  # noqa: F401 (the FCM stand-in fixture)
from tests.notifications.support import fast_worker

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"
OFFERS = "/api/v1/me/offers"
DESK = "/api/v1/workbench/conversations"
RECTIFICATIONS = "/api/v1/workbench/rectifications"
# Commands whose filter selects documents, and where the filter is.
SELECTING = {"find": "filter", "findAndModify": "query", "count": "query", "delete": None,
             "update": None, "aggregate": None, "distinct": "query"}
# Collections that stay small whatever the traffic (the catalogue, settings): read whole.
BOUNDED = {"departments", "material_types", "matters", "bundles", "bundle_versions",
           "local_implementations", "catalogue_state", "calendar_years", "regions",
           # Only the live revocations (they expire with the access tokens' lifetime), read
           # whole by each process's cache when it refreshes.
           "revocations",
           # One document per matter and region (and per matter in the province), read whole.
           "handling_times"}


def filters_of(name: str, command: dict) -> list[dict]:
    if name in ("update", "delete"):
        return [s.get("q") or {} for s in command.get(f"{name}s") or []]
    if name == "aggregate":
        head = (command.get("pipeline") or [{}])[0]
        return [head["$match"]] if "$match" in head else [{}]
    return [command.get(SELECTING[name]) or {}]


@pytest.fixture
def sent(monkeypatch):
    """(command, collection, filter) of every selecting command the app sends from now on."""
    def selections(name: str, command: dict) -> list[tuple[str, str, dict]]:
        collection = command.get(name)
        if name not in SELECTING or not isinstance(collection, str):
            return []
        return [(name, collection, f) for f in filters_of(name, command)]

    return capture_commands(monkeypatch, selections)


def stage_of(collection: str, selector: dict) -> str:
    explained = database().command("explain", {"find": collection, "filter": selector})
    plan = explained["queryPlanner"]["winningPlan"]
    while "inputStage" in plan and plan["stage"] not in ("IXSCAN", "COLLSCAN"):
        plan = plan["inputStage"]
    return plan["stage"]


def plan_of(collection: str, selector: dict) -> str:
    stage = stage_of(collection, selector)
    if stage != "COLLSCAN" or len(selector) < 2 or any(k.startswith("$") for k in selector):
        return stage
    for field, clause in selector.items():
        if stage_of(collection, {field: clause}) == "IXSCAN":
            return "IXSCAN"
    return "COLLSCAN"


def scans(seen: list[tuple[str, str, dict]]) -> list[str]:
    found = []
    for name, collection, selector in seen:
        if collection in BOUNDED or collection.startswith("system."):
            continue
        if name == "count" and selector:
            # The server answers the count command by reading every document, whatever the
            # indexes (count_documents is an aggregate, which it plans like a find).
            found.append(f"{collection} count {selector}")
            continue
        if not selector or plan_of(collection, selector) == "COLLSCAN":
            found.append(f"{collection} {selector}")
    return sorted(set(found))


def apply(client, parent, key: str):
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": ws.newborn_materials(parent)}
    return client.as_(parent).post(APPLICATIONS, json=body, headers={"Idempotency-Key": key},
                                   expect=201)


@pytest.fixture
def history(client):
    """Applications of other families, one of them finished, so the indexes have work to do."""
    ws.load_catalogue()
    for n in range(3):
        apply(client, ws.make_parent(100 + n), f"other-{n}")


def test_a_birth_from_application_to_completion_uses_an_index_for_every_query(
        client, history, sent):
    parent = ws.make_parent()
    citizen = client.as_(parent)
    first = apply(client, parent, "birth").get_json()
    citizen.post(APPLICATIONS, json={"bundle": "newborn", "subject": {"kind": "newborn"},
                                     "form": ws.newborn_form(), "materials": first["materials"]},
                 headers={"Idempotency-Key": "birth"}, expect=201)  # the replay
    citizen.get(APPLICATIONS, expect=200)
    citizen.get(f"{APPLICATIONS}/{first['id']}", expect=200)
    citizen.get(f"{APPLICATIONS}/{first['id']}/timeline", expect=200)
    officers = {d: client.as_(make_officer(d)) for d in ws.NEWBORN_DEPARTMENTS}
    for matter, (department, _) in ws.NEWBORN_STEPS.items():
        officer = officers[department]
        officer.get(TASKS, expect=200)
        task = next(t["id"] for t in first["tasks"] if t["matter"] == matter)
        officer.get(f"{TASKS}/{task}", expect=200)
        shown = officer.get(f"{TASKS}/{task}", expect=200).get_json()
        for material in shown["application"]["materials"][:1]:
            officer.post(f"/api/v1/workbench/materials/{material['id']}/links",
                         json={"task": task})
        officer.post(f"{TASKS}/{task}/claim", expect=200)
        officer.post(f"{TASKS}/{task}/complete", json={"outputs": ws.outputs_for(matter)},
                     expect=200)
    relay.relay_pending()
    citizen.get("/api/v1/me/notifications", expect=200)
    sweeper.sweep(now=datetime.now(UTC) + timedelta(days=400))

    assert citizen.get(f"{APPLICATIONS}/{first['id']}").get_json()["status"] == "completed"
    assert len(sent) > 40  # the capture saw the journey
    found = scans(sent)
    print("\n".join(found))
    assert found == []


def test_the_service_loop_around_applications_uses_an_index_for_every_query(
        app, client, history, desk_open, fcm, sent):  # noqa: F811 (the fixture)
    # Ratings of a finished birth: a low one opens a case its department answers and closes.
    parent = ws.make_parent(locale="zh-CN")
    citizen = client.as_(parent)
    citizen.post("/api/v1/me/devices", json={"token": "phone", "platform": "android"},
                 expect=201)
    finished = loop.finished_newborn(parent)
    ratings = f"{APPLICATIONS}/{finished.id}/ratings"
    police_task = finished.task_for("newborn_household_registration").id
    citizen.post(ratings, json={"task": police_task, "score": 1, "tags": ["had_to_run_again"]},
                 expect=201)
    citizen.post(ratings, json={"score": 5, "tags": []}, expect=201)
    citizen.get(ratings, expect=200)
    police = client.as_(make_officer("public_security"))
    [case] = police.get(RECTIFICATIONS, expect=200).get_json()
    police.post(f"{RECTIFICATIONS}/{case['id']}/reply", json={"text": "已核实"}, expect=200)
    police.post(f"{RECTIFICATIONS}/{case['id']}/resolve", json={"text": "已整改"}, expect=200)
    police.get(f"{TASKS}/counts", expect=200)
    police.get(f"{TASKS}/counts?bundle=newborn", expect=200)

    # A hospital reports a birth: the mother accepts her offer, the father declines his.
    mother = make_citizen(phone="13900001111", id_number=loop.MOTHER_ID, name="Chen Jing")
    father = make_citizen(phone="13900002222", id_number=loop.FATHER_ID, name="Zhou Lei")
    make_family_member(mother, "spouse", id_number=loop.FATHER_ID, name="Zhou Lei")
    for kind in ws.NEWBORN_MATERIALS:
        make_material(mother, kind)
    loop.hospital(client).post("/api/v1/partner/life-events", json=loop.birth_event(),
                               expect=202)
    as_mother, as_father = client.as_(mother), client.as_(father)
    [offer] = as_mother.get(OFFERS, expect=200).get_json()
    as_mother.post(f"{OFFERS}/{offer['id']}/accept", headers={"Idempotency-Key": "tap"}, json={
        "form": {"household_address": "1 Wansong Road, Ruian", "residence_address": "1 Wansong",
                 "newborn_ethnicity": "Han", "bank_account": "6222020200112233445",
                 "bank_name": "ICBC", "delivery_type": "vaginal",
                 "premium_payment_method": "bank_deduction"}}, expect=201)
    [declined] = as_father.get(OFFERS, expect=200).get_json()
    as_father.post(f"{OFFERS}/{declined['id']}/decline", expect=204)

    # The citizen asks for a person: an agent of the region takes it, writes and closes it.
    handed = citizen.post("/api/v1/assistant/messages", json={"text": "转人工"},
                          expect=200).get_json()
    conversation = handed["conversation_id"]
    citizen.get(f"/api/v1/assistant/conversations/{conversation}", expect=200)
    agent = client.as_(make_agent())
    agent.get(DESK, expect=200)
    agent.get(f"{DESK}/{conversation}", expect=200)
    agent.post(f"{DESK}/{conversation}/claim", expect=200)
    agent.post(f"{DESK}/{conversation}/messages", json={"text": "您好"}, expect=201)
    agent.post(f"{DESK}/{conversation}/close", expect=200)
    agent.get(f"{DESK}?status=closed", expect=200)
    police.get("/api/v1/workbench/handoffs", expect=200)

    # The public figures and the regions; then the worker's and the sweeps' rounds.
    client.get("/api/v1/stats/ratings", query_string={"department": "public_security",
                                                      "region": "330381"}, expect=200)
    client.get("/api/v1/stats/reform", query_string={"bundle": "newborn", "region": "330381"},
               expect=200)
    client.get("/api/v1/regions", expect=200)
    loop.drain(fast_worker(app))  # relayed into inboxes, pushed
    assert fcm.messages
    citizen.get("/api/v1/me/notifications", expect=200)
    loop.sweep()
    desk_sweeper.sweep(now=datetime.now(UTC) + timedelta(hours=2))

    assert len(sent) > 60  # the capture saw the loop
    found = scans(sent)
    print("\n".join(found))
    assert found == []


def test_keying_applications_stored_before_the_queue_key_finds_them_by_an_index(
        app, client, history, sent):
    """The release's pass over the open ones and the sweep's over the rest select on the
    key's own index (a missing key is a null key there), not by reading every application."""
    parent = ws.make_parent()
    made = apply(client, parent, "old").get_json()
    database().applications.update_one(
        {"tasks.id": made["tasks"][0]["id"]},
        {"$unset": {f"tasks.{n}.queue": "" for n in range(len(made["tasks"]))}})
    sent.clear()

    assert backfill.backfill_queue_keys() == 1
    assert backfill.StoredTaskKeys().run() == 0
    assert backfill.backfill_queue_keys() == 0

    assert sum("tasks.queue" in selector for _, _, selector in sent) == 3
    found = scans(sent)
    print("\n".join(found))
    assert found == []


def test_the_joins_of_a_first_application_typing_a_spouse_are_driven_by_an_index(
        client, history, monkeypatch):
    """The server joins a $lookup on an index of its foreign field (an $in of the local
    values), else reads the whole foreign collection: every join applying sends must be one
    such an index serves, the users holding the typed ID numbers included."""
    pipelines = capture_commands(monkeypatch, lambda name, command: [
        command.get("pipeline") or []] if name == "aggregate" else [])
    parent = make_citizen(phone="13800000401", name="Zhou Lei",
                          id_number=numbers.make_id_number("330381", date(1990, 6, 1), 12,
                                                           "male"))
    spouse = numbers.make_id_number("330381", date(1993, 3, 3), 78, "female")
    client.as_(parent).post(APPLICATIONS, json={
        "bundle": "newborn", "subject": {"kind": "newborn"},
        "form": ws.newborn_form(spouse_name="Li Hong", spouse_id_number=spouse),
        "materials": ws.newborn_materials(parent)}, headers={"Idempotency-Key": "birth"},
        expect=201)

    joins = {(stage["$lookup"]["from"], stage["$lookup"]["foreignField"])
             for pipeline in pipelines for stage in pipeline
             if "foreignField" in stage.get("$lookup", {})}
    assert ("users", "id_number_index") in joins
    assert {join: stage_of(join[0], {join[1]: {"$in": ["probe"]}}) for join in joins} == {
        join: "IXSCAN" for join in joins}
