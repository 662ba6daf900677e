"""Zhejiang's divisions, read once per process from data/regions/zhejiang.yaml (the source).

Nothing here asks the database: the list changes only with a new GB/T 2260 edition, which is a
new file and a new release. A region is the province, a city or a county; a department works in
one of them, and an application is routed, matter by matter, to the region at the matter's level
that holds the application's region (a county-level matter of Ruian stays in Ruian, a city-level
one goes to Wenzhou, a province-level one to the province).
"""
import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from common import divisions, i18n
from services.errors import ValidationFailed

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "regions" / "zhejiang.yaml"
LEVELS = ("province", "city", "county")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Region:
    code: str
    names: dict  # {"zh-CN", "en"}
    parent: str | None
    level: str

    def name(self, locale: str | None = None) -> str:
        return i18n.pick(self.names, locale) or self.code


@dataclass(frozen=True)
class _Divisions:
    edition: str
    by_code: dict[str, Region]
    by_level: dict[str, tuple[str, ...]]


def _read(path: Path) -> _Divisions:
    content = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506  # nosec B506
    by_code: dict[str, Region] = {}
    for entry in content["regions"]:
        code = str(entry["code"])
        if not divisions.is_code(code) or entry["level"] not in LEVELS or code in by_code:
            raise ValueError(f"{path.name}: bad or repeated region {entry!r}")
        by_code[code] = Region(code=code, names={"zh-CN": entry["name_zh"],
                                                 "en": entry["name_en"]},
                               parent=str(entry["parent"]) if entry.get("parent") else None,
                               level=entry["level"])
    for region in by_code.values():
        if region.parent is not None and region.parent not in by_code:
            raise ValueError(f"{path.name}: {region.code} has an unknown parent {region.parent}")
    return _Divisions(edition=str(content.get("edition") or ""), by_code=by_code,
                      by_level={level: tuple(c for c, r in by_code.items() if r.level == level)
                                for level in LEVELS})


@functools.cache
def _divisions() -> _Divisions:
    return _read(DATA_FILE)


def edition() -> str:
    return _divisions().edition


def find(code: str | None) -> Region | None:
    return _divisions().by_code.get(code) if isinstance(code, str) else None


def is_known(code: str | None) -> bool:
    return find(code) is not None


def unknown_region(field: str, code) -> ValidationFailed:
    """422 naming the field: the code is not one of the province's divisions."""
    en = "{c} is not a division of Zhejiang (a six-digit GB/T 2260 code such as 330381)."
    zh = "{c} 不是浙江省的行政区划（应为 6 位行政区划代码，如 330381）。"
    shown = str(code)[:16]
    return ValidationFailed(en, zh, error="unknown_region", c=shown,
                            errors={field: [i18n.text(en, zh, c=shown)]})


def get(code: str | None, *, field: str = "region") -> Region:
    """The region, or a 422 naming `field` when the code is not a division of the province."""
    region = find(code)
    if region is None:
        raise unknown_region(field, code)
    return region


def codes(level: str | None = None) -> tuple[str, ...]:
    """Every code (province, cities, counties, in the file's order), or those of one level."""
    found = _divisions()
    return tuple(found.by_code) if level is None else found.by_level.get(level, ())


def ancestry(code: str) -> list[str]:
    """The region and every region above it, nearest first: 330381 → 330381, 330300, 330000."""
    chain, region = [], find(code)
    while region is not None:
        chain.append(region.code)
        region = find(region.parent)
    return chain


def at_level(code: str, level: str) -> str | None:
    """The region at `level` that holds `code` (itself when it is of that level); None when
    `code` lies above that level (a county-level matter has no county in a city's region)."""
    for candidate in ancestry(code):
        if find(candidate).level == level:
            return candidate
    return None


def within(code: str | None, area: str | None) -> bool:
    """`code` is `area` or lies inside it."""
    return divisions.within(code, area)


def describe(region: Region, locale: str | None = None) -> dict:
    return {"code": region.code, "name": region.name(locale), "names": dict(region.names),
            "parent": region.parent, "level": region.level}


def list_regions(*, level: str | None = None, parent: str | None = None,
                 locale: str | None = None) -> list[dict]:
    """The divisions in the file's order (the province, its cities, then the counties city by
    city), of one level or one parent when asked."""
    found = []
    for code in codes(level):
        region = find(code)
        if parent is not None and region.parent != parent:
            continue
        found.append(describe(region, locale))
    return found
