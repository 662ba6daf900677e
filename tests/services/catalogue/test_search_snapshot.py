"""A process starting loads the search index another one left in the database and catches up
from it, instead of reading every matter; a snapshot of another history is never used."""
from datetime import timedelta

import pytest

from common.i18n import current_locale
from models import catalogue_state
from models.catalogue import CatalogueIndexPart, Matter
from services.catalogue import admin as catalogue_admin
from services.catalogue import generator as catalogue_generator
from services.catalogue import search as catalogue_search
from services.catalogue import search_index
from services.catalogue import seed as catalogue_seed


@pytest.fixture(autouse=True)
def seeded(app, monkeypatch):
    catalogue_seed.load_catalogue()
    catalogue_generator.generate(main=40, sub=80)
    monkeypatch.setitem(app.config, "CATALOGUE_INDEX_SNAPSHOTS", True)
    token = current_locale.set("en")
    yield
    current_locale.reset(token)
    search_index.wait_for_snapshot()  # one being written beside the test is done
    search_index.forget()


@pytest.fixture
def reads(monkeypatch):
    """How many matters the index was handed since: all of them means it read everything."""
    seen = []
    original = search_index.Index.put

    def counting(self, matter, **kwargs):
        seen.append(matter["code"])
        return original(self, matter, **kwargs)

    monkeypatch.setattr(search_index.Index, "put", counting)
    return seen


def started_afresh():
    """As if this process had just started: no index, the catalogue's state not known yet."""
    search_index.forget()
    catalogue_state.forget_state()


def answers() -> list:
    return [catalogue_search.search_matters(q=q, page_size=100) for q in
            ("registration", "户口", "permit", "我想办个食品许可证")] + [
        catalogue_search.search_matters(department="public_security", level="city"),
        catalogue_search.search_matters(region="330381", page=2),
        catalogue_search.list_departments()]


def test_a_starting_process_loads_the_snapshot_and_answers_exactly_as_a_full_build(reads):
    built = search_index.prebuild()
    expected = answers()
    reads.clear()

    started_afresh()
    loaded = search_index.current_index()

    assert reads == []  # not one matter read: all of it came from the snapshot
    assert loaded is not built and loaded.stamp == built.stamp
    assert answers() == expected


def test_it_catches_up_on_what_changed_since_the_snapshot(reads, monkeypatch):
    # Catching up looks back a little for writes that landed late; here everything was just
    # written, so look back not at all.
    monkeypatch.setattr(search_index, "_SYNC_OVERLAP", timedelta(0))
    search_index.prebuild()
    catalogue_admin.update_matter(code="gen_m00001", changes={"synonyms": ["养狗登记"]})
    reads.clear()

    started_afresh()
    found = catalogue_search.search_matters(q="养狗登记")[0]

    assert [m["code"] for m in found] == ["gen_m00001"]
    assert "gen_m00001" in reads and len(reads) < 10  # the change, not the catalogue


def test_a_snapshot_of_another_history_is_not_used(reads):
    search_index.prebuild()
    catalogue_generator.generate(main=10, sub=10)  # matters removed wholesale: a reset
    total = Matter.objects(retired__ne=True).count()
    reads.clear()

    started_afresh()
    items, found = catalogue_search.search_matters(page_size=1)

    assert found == total
    assert len(reads) == total  # read afresh


def test_a_damaged_snapshot_is_ignored_and_the_index_built_instead(reads):
    search_index.prebuild()
    CatalogueIndexPart._get_collection().update_many({}, {"$set": {"data": b"not zlib"}})
    reads.clear()

    started_afresh()
    items, found = catalogue_search.search_matters(page_size=1)

    assert found == Matter.objects(retired__ne=True).count() == len(reads)


def test_an_index_with_replaced_matters_is_stored_compact(reads):
    search_index.prebuild()
    for n in range(1, 4):
        catalogue_admin.update_matter(code=f"gen_m{n:05d}", changes={"synonyms": [f"改{n}"]})
    caught_up = search_index.current_index()
    assert caught_up.size > len(caught_up.order)  # the old places of the changed matters
    search_index.store_snapshot(caught_up)

    started_afresh()
    loaded = search_index.current_index()

    assert loaded.size == len(loaded.order) == len(caught_up.order)
    assert [m["code"] for m in catalogue_search.search_matters(q="改2")[0]] == ["gen_m00002"]
