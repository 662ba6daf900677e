"""Every query a request sends on the hot paths uses an index: the filters are captured from real
requests (what the app sends, not what a test imagines it sends), then the server's explain()
plans each one; a collection scan fails. A scan costs more with every application ever made.

The server plans a filter of several clauses on a compound index that covers them, or else on
the first clause (in the filter's order) one of its indexes serves, and checks the rest on the
documents found. Its explain() reports only the first of these two choices, so a filter explain
calls a scan is explained again clause by clause, as the server then executes it.
"""
from datetime import UTC, date, datetime, timedelta

import pytest

from common import db_metrics
from models.connection import database
from notifications import relay
from services.identity import numbers
from services.workflow import sweeper
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_officer

APPLICATIONS = "/api/v1/applications"
TASKS = "/api/v1/workbench/tasks"
# Commands whose filter selects documents, and where the filter is.
SELECTING = {"find": "filter", "findAndModify": "query", "count": "query", "delete": None,
             "update": None, "aggregate": None, "distinct": "query"}
# Collections that stay small whatever the traffic (the catalogue, settings): read whole.
BOUNDED = {"departments", "material_types", "matters", "bundles", "bundle_versions",
           "local_implementations", "catalogue_state", "calendar_years", "regions",
           # Only the live revocations (they expire with the access tokens' lifetime), read
           # whole by each process's cache when it refreshes.
           "revocations"}


def filters_of(name: str, command: dict) -> list[dict]:
    if name in ("update", "delete"):
        return [s.get("q") or {} for s in command.get(f"{name}s") or []]
    if name == "aggregate":
        head = (command.get("pipeline") or [{}])[0]
        return [head["$match"]] if "$match" in head else [{}]
    return [command.get(SELECTING[name]) or {}]


@pytest.fixture
def sent(monkeypatch):
    """(collection, filter) of every selecting command the app sends from now on."""
    seen: list[tuple[str, dict]] = []
    counted = db_metrics.CommandCounter.started

    def started(self, event):
        name = event.command_name
        collection = event.command.get(name)
        if name in SELECTING and isinstance(collection, str):
            seen.extend((collection, f) for f in filters_of(name, event.command))
        counted(self, event)

    monkeypatch.setattr(db_metrics.CommandCounter, "started", started)
    return seen


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


def scans(seen: list[tuple[str, dict]]) -> list[str]:
    found = []
    for collection, selector in seen:
        if collection in BOUNDED or collection.startswith("system."):
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


def test_the_joins_of_a_first_application_typing_a_spouse_are_driven_by_an_index(
        client, history, monkeypatch):
    """The server joins a $lookup on an index of its foreign field (an $in of the local
    values), else reads the whole foreign collection: every join applying sends must be one
    such an index serves, the users holding the typed ID numbers included."""
    pipelines: list[list[dict]] = []
    counted = db_metrics.CommandCounter.started

    def started(self, event):
        if event.command_name == "aggregate":
            pipelines.append(event.command.get("pipeline") or [])
        counted(self, event)

    monkeypatch.setattr(db_metrics.CommandCounter, "started", started)
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
