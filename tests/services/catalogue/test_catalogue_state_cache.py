"""Where the catalogue stands is read once per CATALOGUE_STATE_TTL per process, and a change
made in this process is seen at once."""
import pytest

from common import db_metrics
from models import catalogue_state
from models.catalogue import CatalogueState


@pytest.fixture
def ttl(app, monkeypatch):
    def set_ttl(seconds: float) -> None:
        monkeypatch.setitem(app.config, "CATALOGUE_STATE_TTL", seconds)
    catalogue_state.forget_state()
    yield set_ttl
    catalogue_state.forget_state()


def reads(work) -> int:
    db_metrics.reset()
    work()
    return db_metrics.count()


def test_within_its_time_the_state_is_read_once(ttl):
    ttl(60.0)
    first = catalogue_state.bump_revision()
    catalogue_state.forget_state()

    assert reads(catalogue_state.current_state) == 1
    assert reads(catalogue_state.current_state) == 0
    assert catalogue_state.current_revision() == first


def test_a_change_made_here_is_seen_at_once(ttl):
    ttl(60.0)
    catalogue_state.bump_revision()
    catalogue_state.current_state()

    second = catalogue_state.bump_revision()

    assert reads(catalogue_state.current_revision) == 0
    assert catalogue_state.current_revision() == second


def test_another_processs_change_shows_once_the_time_is_up(ttl):
    ttl(60.0)
    catalogue_state.bump_revision()
    before = catalogue_state.current_revision()
    # Another process bumps the revision behind this one's back.
    CatalogueState._get_collection().update_one({"_id": "catalogue"}, {"$inc": {"revision": 1}})

    assert catalogue_state.current_revision() == before
    ttl(0.0)
    assert catalogue_state.current_revision() == before + 1
