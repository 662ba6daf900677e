"""Searching the catalogue from the in-process index, and keeping the index true to the
database whatever another process or a reload did to it."""
from datetime import UTC, datetime

import pytest

from common.i18n import current_locale
from models import catalogue_state
from models.catalogue import Matter
from models.connection import database
from services.catalogue import generator as catalogue_generator
from services.catalogue import publishing
from services.catalogue import search as catalogue_search
from services.catalogue import seed as catalogue_seed


@pytest.fixture(autouse=True)
def seeded():
    catalogue_seed.load_catalogue()
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def codes(**query) -> list[str]:
    return [m["code"] for m in catalogue_search.search_matters(page_size=100, **query)[0]]


def write_matter_as_another_process(code: str, zh: str, en: str, **fields) -> None:
    now = datetime.now(UTC)
    Matter._get_collection().insert_one({
        "code": code, "name": {"zh-CN": zh, "en": en}, "department": "hrss", "level": "county",
        "region": "330381", "promised": {"value": 1, "unit": "working_days"}, "retired": False,
        "version": 1, "created_at": now, "updated_at": now, **fields})


def test_the_name_itself_ranks_before_names_that_merely_contain_it():
    write_matter_as_another_process("a_record_copy", "新生儿出生户口登记记录复印",
                                    "Newborn household registration record copy")
    catalogue_state.bump_revision()
    assert codes(q="newborn household registration") == ["newborn_household_registration",
                                                         "a_record_copy"]
    assert codes(q="新生儿出生户口登记") == ["newborn_household_registration", "a_record_copy"]


def test_every_word_must_match():
    assert codes(q="household registration newborn") == ["newborn_household_registration"]
    assert codes(q="household registration vehicle") == []


def test_a_colloquial_chinese_request_finds_the_matter_by_its_characters():
    assert codes(q="我想办个食品许可证")[0] == "food_business_permit"


def test_english_letter_pairs_do_not_make_false_matches():
    assert codes(q="stubborn") == []


def test_a_change_made_by_another_process_is_seen_on_the_next_search():
    assert codes(q="养老金") == []
    write_matter_as_another_process("pension_claim", "养老金领取", "Pension claim")
    catalogue_state.bump_revision()
    assert codes(q="养老金") == ["pension_claim"]
    Matter._get_collection().update_one({"code": "pension_claim"}, {"$set": {
        "retired": True, "updated_at": datetime.now(UTC)}})
    catalogue_state.bump_revision()
    assert codes(q="养老金") == []


def test_a_reloaded_database_is_never_mistaken_for_the_one_indexed_before():
    write_matter_as_another_process("pension_claim", "养老金领取", "Pension claim")
    catalogue_state.bump_revision()
    assert codes(q="pension") == ["pension_claim"]
    db = database()
    for name in ("matters", "departments", "material_types", "bundles", "bundle_versions",
                 "catalogue_state"):
        db[name].delete_many({})
    catalogue_seed.load_catalogue()
    assert codes(q="pension") == []
    assert publishing.compiled_bundle("newborn")["version"] == 1


def test_matters_written_without_recording_a_revision_are_still_found():
    database()["catalogue_state"].delete_many({})
    write_matter_as_another_process("pension_claim", "养老金领取", "Pension claim")
    assert codes(q="pension") == ["pension_claim"]


def test_a_regenerated_catalogue_replaces_the_generated_matters_only():
    catalogue_generator.generate(main=30, sub=60)
    first = catalogue_search.search_matters(page_size=1)[1]
    catalogue_generator.generate(main=10, sub=20)
    items, total = catalogue_search.search_matters(page_size=1)
    assert first - total == 60
    assert "newborn_household_registration" in codes(q="household registration")
    generated = Matter.objects(generated=True)
    assert generated.count() == 30
    assert {m.level for m in generated} <= {"province", "city", "county"}
    assert all(m.parent for m in generated if "_s" in m.code)


def test_filters_combine_with_text_and_with_each_other():
    assert codes(q="vehicle", department="public_security") == [
        "motor_vehicle_inspection", "motor_vehicle_registration"]
    assert codes(q="vehicle", department="taxation") == ["vehicle_purchase_tax",
                                                         "vehicle_vessel_tax"]
    assert codes(department="public_security", level="city") == [
        "motor_vehicle_inspection", "motor_vehicle_registration"]
    assert codes(q="registration", department="civil_affairs") == ["marriage_registration"]


def test_bundles_are_matched_from_free_text_in_either_language():
    assert catalogue_search.match_bundles("我老婆刚生了二胎")[0][0] == "newborn"
    assert catalogue_search.match_bundles("how do I register my new car")[0][0] == \
        "vehicle_registration"
    assert catalogue_search.match_bundles("孩子明年上小学")[0][0] == "school_enrollment"
    assert catalogue_search.match_bundles("公司不做了要注销")[0][0] == "business_deregistration"
    assert catalogue_search.match_bundles("今天天气怎么样") == []
