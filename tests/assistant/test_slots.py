"""Reading one answer of the joint form out of what a citizen typed."""
from datetime import UTC, datetime, timedelta

import pytest

from assistant.slots import NotAnAnswer, choice_index, mask_private, read_value
from common import calendar

GENDER = {"name": "newborn_gender", "type": "choice", "choices": ["male", "female"],
          "choice_labels": {"male": "男", "female": "女"}}


def _today():
    return calendar.current().local_date(datetime.now(UTC))


@pytest.mark.parametrize("text, expected", [
    ("2025-05-01", "2025-05-01"), ("2025/5/1", "2025-05-01"), ("2025年5月1日", "2025-05-01"),
    ("1 May 2025", "2025-05-01"), ("May 1st, 2025", "2025-05-01"), ("20250501", "2025-05-01"),
])
def test_dates_are_read_in_the_usual_ways(text, expected):
    assert read_value({"type": "date"}, text) == expected


def test_relative_dates_count_from_today_where_the_citizen_lives():
    assert read_value({"type": "date"}, "昨天") == (_today() - timedelta(days=1)).isoformat()
    assert read_value({"type": "date"}, "today") == _today().isoformat()


@pytest.mark.parametrize("text, expected", [
    ("7:45", "07:45"), ("早上7点45", "07:45"), ("下午3点半", "15:30"), ("8点10分", "08:10"),
])
def test_times_of_day_become_hh_mm(text, expected):
    field = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
    assert read_value(field, text) == expected


@pytest.mark.parametrize("text, grams", [("3300", 3300), ("3300克", 3300), ("3.3kg", 3300),
                                         ("6.6斤", 3300), ("3.3", 3300)])
def test_a_birth_weight_is_read_in_grams_however_it_is_given(text, grams):
    field = {"name": "birth_weight_grams", "type": "integer"}
    assert read_value(field, text) == grams


@pytest.mark.parametrize("text, value", [("女", "female"), ("是个女孩", "female"),
                                         ("boy", "male"), ("2", "female"), ("Male", "male")])
def test_a_choice_is_read_from_its_label_a_synonym_or_its_number(text, value):
    assert read_value(GENDER, text) == value


def test_text_that_names_no_choice_is_not_an_answer():
    with pytest.raises(NotAnAnswer):
        read_value(GENDER, "我想查一下进度")


def test_account_numbers_typed_in_groups_are_joined():
    field = {"type": "string", "pattern": r"^\d{12,19}$"}
    assert read_value(field, "6222 0202 0011 2233 445") == "6222020200112233445"
    with pytest.raises(NotAnAnswer):
        read_value(field, "工商银行")


def test_numbers_by_position_pick_a_choice():
    assert choice_index("2", 3) == 1
    assert choice_index("第一个", 3) == 0
    assert choice_index("4", 3) is None


def test_private_numbers_are_masked_before_a_text_is_kept():
    masked = mask_private("身份证330381199005011234，电话13800001111，卡号6222020200112233445")
    assert "330381199005011234" not in masked and "330381********1234" in masked
    assert "13800001111" not in masked and "138****1111" in masked
    assert "6222020200112233445" not in masked
