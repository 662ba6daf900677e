"""The province's divisions, read from data/regions/zhejiang.yaml: levels, parents, routing."""
import pytest

from services.errors import ValidationFailed
from services.regions import divisions


def test_the_file_holds_the_province_its_eleven_cities_and_ninety_counties():
    assert divisions.codes("province") == ("330000",)
    assert len(divisions.codes("city")) == 11
    assert len(divisions.codes("county")) == 90
    assert all(divisions.find(c).parent == "330000" for c in divisions.codes("city"))
    assert all(divisions.find(divisions.find(c).parent).level == "city"
               for c in divisions.codes("county"))


def test_a_region_has_both_names_and_answers_in_the_readers_language():
    ruian = divisions.find("330381")
    assert ruian.names == {"zh-CN": "瑞安市", "en": "Ruian City"}
    assert ruian.name("en") == "Ruian City" and ruian.name("zh-CN") == "瑞安市"
    assert divisions.describe(ruian, "en") == {
        "code": "330381", "name": "Ruian City", "names": {"zh-CN": "瑞安市", "en": "Ruian City"},
        "parent": "330300", "level": "county"}


def test_a_matter_of_each_level_is_handled_in_the_region_of_that_level_holding_the_county():
    assert divisions.at_level("330381", "county") == "330381"  # Ruian's own police
    assert divisions.at_level("330381", "city") == "330300"  # Wenzhou's vehicle office
    assert divisions.at_level("330381", "province") == "330000"
    assert divisions.at_level("330102", "city") == "330100"  # Shangcheng lies in Hangzhou
    assert divisions.at_level("330100", "county") is None  # a city holds no one county
    assert divisions.ancestry("330102") == ["330102", "330100", "330000"]


def test_codes_that_are_gone_or_never_were_are_unknown_and_refused_naming_the_field():
    # 330103 下城区 was merged into 拱墅区 in 2021; 330199 never existed.
    for code in ("330103", "330199", "110101", "33038", "abcdef", None):
        assert not divisions.is_known(code)
    with pytest.raises(ValidationFailed) as refused:
        divisions.get("330199", field="region")
    assert refused.value.error == "unknown_region"
    assert list(refused.value.errors) == ["region"]


def test_within_follows_the_code_not_the_spelling():
    assert divisions.within("330381", "330300") and divisions.within("330381", "330000")
    assert divisions.within("330300", "330300")
    assert not divisions.within("330381", "330100")
    assert not divisions.within("330300", "330381")  # a city is not inside its county
    assert not divisions.within(None, "330000")


def test_regions_are_listed_by_level_or_parent_in_the_files_order():
    hangzhou = divisions.list_regions(parent="330100", locale="en")
    assert hangzhou[0] == {"code": "330102", "name": "Shangcheng District",
                           "names": {"zh-CN": "上城区", "en": "Shangcheng District"},
                           "parent": "330100", "level": "county"}
    assert len(hangzhou) == 13
    assert [r["code"] for r in divisions.list_regions(level="province")] == ["330000"]
