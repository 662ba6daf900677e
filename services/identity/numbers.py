"""Resident ID numbers (GB 11643) and mainland mobile numbers: checked, normalised, made."""
import re
from datetime import date

from common import calendar, crypto
from models.user import Gender
from services.errors import (
    ValidationFailed,
)

# Province-level codes of GB/T 2260 (71 Taiwan; 81, 82, 83: residence permits of Hong Kong, Macao
# and Taiwan residents).
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
ID_NUMBER_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
EARLIEST_BIRTH = date(1900, 1, 1)


def _id_error(en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, error="invalid_id_number", errors={"id_number": [en]})


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number: ISO 7064 MOD 11-2 over the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def validate_id_number(number: str) -> date:
    """A resident ID number is 18 characters, a known province, a real past birth date and a
    correct check character; returns the birth date, raises ValidationFailed (422) otherwise."""
    number = crypto.normalize("id_number", number or "")
    if not ID_NUMBER_SHAPE.match(number):
        raise _id_error("An ID number has 17 digits and a final digit or X.",
                        "身份证号码应为 17 位数字加 1 位数字或 X。")
    if number[:2] not in PROVINCE_CODES:
        raise _id_error("The ID number's region code is not known.", "身份证号码的地区码无效。")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _id_error("The ID number's birth date does not exist.",
                        "身份证号码中的出生日期无效。") from None
    if born > calendar.today() or born < EARLIEST_BIRTH:
        raise _id_error("The ID number's birth date is not possible.",
                        "身份证号码中的出生日期不合理。")
    if id_check_character(number[:17]) != number[17]:
        raise _id_error("The ID number's check digit is wrong; please check it.",
                        "身份证号码校验位不正确，请核对。")
    return born


def id_number_gender(number: str) -> str:
    """The 17th digit is odd for men, even for women."""
    return Gender.MALE.value if int(number[16]) % 2 else Gender.FEMALE.value


def make_id_number(region_code: str, birth_date: date, sequence: int, gender: str) -> str:
    """A valid ID number: region (6 digits), birth date, order code from `sequence` (0-499) with
    the parity of `gender` ("male"/"female"), then the check character."""
    if not re.fullmatch(r"\d{6}", region_code) or region_code[:2] not in PROVINCE_CODES:
        raise ValueError(f"not a known region code: {region_code!r}")
    if not 0 <= sequence <= 499:
        raise ValueError("sequence must be between 0 and 499")
    male = str(gender).lower() in {"male", "m", Gender.MALE.value}
    order = sequence * 2 + (1 if male else 0)
    first17 = f"{region_code}{birth_date:%Y%m%d}{order:03d}"
    return first17 + id_check_character(first17)



MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(phone: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 removed), else 422."""
    digits = crypto.normalize("phone", phone or "")
    if not MOBILE.match(digits):
        raise ValidationFailed("Enter an 11-digit mainland mobile number.",
                               "请输入 11 位中国大陆手机号码。", error="invalid_phone",
                               errors={"phone": ["Enter an 11-digit mainland mobile number."]})
    return digits
