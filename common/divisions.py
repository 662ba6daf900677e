"""Administrative division codes (GB/T 2260) as a format: what a code says about where it lies.

A code is six digits: two for the province, two for the city, two for the county; a city's code
ends in 00, the province's in 0000. So 330381 (Ruian) lies within 330300 (Wenzhou) and 330000
(Zhejiang). Which codes exist is the regions domain's business (services/regions); this is only
the arithmetic of the format.
"""
import re

CODE = re.compile(r"^\d{6}$")


def is_code(value) -> bool:
    return isinstance(value, str) and CODE.match(value) is not None


def prefix(code: str) -> str:
    """The digits that name the area: 330000 → 33, 330300 → 3303, 330381 → 330381."""
    value = code
    while value.endswith("00") and len(value) > 2:
        value = value[:-2]
    return value


def within(code: str | None, area: str | None) -> bool:
    """The division `code` is `area` itself or lies inside it."""
    if not code or not area:
        return False
    return prefix(code).startswith(prefix(area))
