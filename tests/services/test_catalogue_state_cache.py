"""Where the catalogue stands is read once per CATALOGUE_STATE_TTL per process, and a change
made in this process is seen at once."""
import pytest

from common import db_metrics
from models.catalogue import CatalogueState
from services import catalogue


@pytest.fixture
def ttl(app, monkeypatch):
    def set_ttl(seconds: float) -> None:
        monkeypatch.setitem(app.config, "CATALOGUE_STATE_TTL", seconds)
    catalogue.forget_state()
    yield set_ttl
    catalogue.forget_state()


def reads(work) -> int:
    db_metrics.reset()
    work()
    return db_metrics.count()


def test_within_its_time_the_state_is_read_once(ttl):
    ttl(60.0)
    first = catalogue.bump_revision()
    catalogue.forget_state()

    assert reads(catalogue.current_state) == 1
    assert reads(catalogue.current_state) == 0
    assert catalogue.current_revision() == first


def test_a_change_made_here_is_seen_at_once(ttl):
    ttl(60.0)
    catalogue.bump_revision()
    catalogue.current_state()

    second = catalogue.bump_revision()

    assert reads(catalogue.current_revision) == 0
    assert catalogue.current_revision() == second


def test_another_processs_change_shows_once_the_time_is_up(ttl):
    ttl(60.0)
    catalogue.bump_revision()
    before = catalogue.current_revision()
    # Another process bumps the revision behind this one's back.
    CatalogueState._get_collection().update_one({"_id": "catalogue"}, {"$inc": {"revision": 1}})

    assert catalogue.current_revision() == before
    ttl(0.0)
    assert catalogue.current_revision() == before + 1
