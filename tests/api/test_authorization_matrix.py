"""Every route, every actor: who gets in, who gets 401, 403 or 404. A route without an entry fails.

Entries live in tests/api/authz_matrix_entries.py (and authz_matrix_entries_<area>.py modules);
the vocabulary is in tests/api/authz_matrix.py.
"""
import importlib
import pkgutil

import pytest

import tests.api as package
from tests.api.authz_matrix import ACTORS, OFFICERS, Call, Entry, World

# Not API resources: documentation, the OpenAPI document, static files and the probes.
EXCLUDED_PREFIXES = ("/docs", "/static")
EXCLUDED_RULES = {"/api/openapi.json", "/healthz", "/readyz"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def load_entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("authz_matrix_entries"):
            found = importlib.import_module(f"tests.api.{module.name}").ENTRIES
            duplicated = set(found) & set(entries)
            assert not duplicated, f"entries defined twice: {sorted(duplicated)}"
            entries.update(found)
    return entries


ENTRIES = load_entries()


def app_routes(app) -> set[str]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in EXCLUDED_RULES or rule.rule.startswith(EXCLUDED_PREFIXES):
            continue
        routes.update(f"{method} {rule.rule}" for method in rule.methods - IGNORED_METHODS)
    return routes


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    routes = app_routes(app)
    missing = sorted(routes - set(ENTRIES))
    stale = sorted(set(ENTRIES) - routes)
    message = []
    if missing:
        message.append(f"{len(missing)} route(s) without an authorization matrix entry "
                       "(add them to tests/api/authz_matrix_entries*.py):\n  "
                       + "\n  ".join(missing))
    if stale:
        message.append(f"{len(stale)} entr(ies) for routes that do not exist:\n  "
                       + "\n  ".join(stale))
    assert not message, "\n".join(message)


def test_every_entry_says_what_each_actor_gets():
    for route, entry in ENTRIES.items():
        for actor in ACTORS:
            assert entry.expected(actor), (route, actor)


def test_every_workbench_route_names_what_each_officer_gets_in_and_out_of_their_region():
    """The department and the region are both fences: an officer of the same department in the
    same region, of another department, and of the same department in another region are each
    named on every workbench route, never left to a default."""
    unnamed = {}
    for route, entry in ENTRIES.items():
        if "/workbench/" not in route:
            continue
        named = getattr(entry.expect, "named", frozenset(entry.expect))
        missing = [actor for actor in OFFICERS if actor not in named]
        if missing:
            unnamed[route] = missing
    assert not unnamed, "workbench routes leaving officers to a default: " + "; ".join(
        f"{route}: {', '.join(actors)}" for route, actors in sorted(unnamed.items()))


def _send(world: World, actor: str, method: str, call: Call | str):
    call = Call(call) if isinstance(call, str) else call
    kwargs = {"json": call.json} if call.json is not None else {}
    if call.data is not None:
        kwargs["data"] = call.data
    if call.content_type:
        kwargs["content_type"] = call.content_type
    return world.client(actor).request(method, call.url, headers=call.headers, **kwargs)


@pytest.mark.parametrize("route", sorted(ENTRIES))
def test_each_actor_gets_the_expected_answer(app, client, route):
    if route not in app_routes(app):
        pytest.skip("no such route (reported by the coverage test)")
    entry = ENTRIES[route]
    method = route.split(" ", 1)[0]
    world = World(client)
    wrong = []
    for actor in ACTORS:
        response = _send(world, actor, method, entry.build(world, actor))
        expected = entry.expected(actor)
        # Closed at once, in order: an event stream left open would be closed later by the
        # garbage collector, popping request contexts out of order.
        streaming = response.mimetype == "text/event-stream"
        if streaming:
            response.close()
        if response.status_code not in expected:
            body = "" if streaming else response.get_data(as_text=True)[:300]
            wrong.append(f"{actor}: expected {'/'.join(map(str, sorted(expected)))}, got "
                         f"{response.status_code} {body}")
        elif response.status_code == 401:
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), actor
        response.close()
    assert not wrong, f"{route}:\n  " + "\n  ".join(wrong)
