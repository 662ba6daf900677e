"""A fresh embedded database per test run (per xdist worker); each test starts from clean data."""
import os
from datetime import UTC, datetime, timedelta

import pytest

from api import create_app
from common.embedded_db import EmbeddedDatabase
from models import calendar_year
from models.connection import database
from services.desk import hours
from tests.helpers import ApiClient, make_admin, make_citizen, make_clerk, make_officer


@pytest.fixture(scope="session")
def database_server():
    server = EmbeddedDatabase(":memory:")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(database_server):
    os.environ["MONGODB_URI"] = database_server.uri
    application = create_app("test")
    yield application


@pytest.fixture(autouse=True)
def app_context(app):
    db = database()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
    calendar_year.forget_loaded_years()  # years a test loaded go with its data
    with app.app_context():
        yield


@pytest.fixture
def client(app) -> ApiClient:
    """Anonymous caller, English answers unless a test asks otherwise."""
    return ApiClient(app.test_client(), headers={"Accept-Language": "en"})


@pytest.fixture
def citizen():
    return make_citizen()


@pytest.fixture
def as_citizen(client, citizen) -> ApiClient:
    return client.as_(citizen)


@pytest.fixture
def as_officer(client):
    """as_officer("public_security") → a client signed in as an officer of that department."""
    return lambda department, **fields: client.as_(make_officer(department, **fields))


@pytest.fixture
def as_clerk(client):
    return lambda station="ruian-hospital", **fields: client.as_(make_clerk(station, **fields))


@pytest.fixture
def as_admin(client) -> ApiClient:
    return client.as_(make_admin())


@pytest.fixture
def desk_open(monkeypatch):
    """People are at the service desk, and always were, whatever the day the tests run."""
    monkeypatch.setattr(hours, "is_open", lambda now: True)
    monkeypatch.setattr(hours, "next_opening", lambda now: now)
    monkeypatch.setattr(hours, "open_time_between", lambda start, end: end - start)


@pytest.fixture
def desk_closed(monkeypatch):
    """Nobody is at the service desk; they are back at the moment returned."""
    back = (datetime.now(UTC) + timedelta(hours=14)).replace(microsecond=0)
    monkeypatch.setattr(hours, "is_open", lambda now: False)
    monkeypatch.setattr(hours, "next_opening", lambda now: back)
    return back
