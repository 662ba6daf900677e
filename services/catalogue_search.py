"""Searching the catalogue in Python (the database has no text index), from an in-process index.

Each process keeps an index of the live matters and bundles and rebuilds it when the catalogue
revision stored in the database moves, so every process sees every change on its next request.
"""
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field

import opencc

from common.i18n import current_locale, pick
from models.catalogue import Bundle, Department, Matter
from services import catalogue

log = logging.getLogger(__name__)

_to_simplified = opencc.OpenCC("t2s")
_PUNCTUATION = re.compile(r"[\s\u3000,.;:!?，。；：！？、（）()\[\]【】“”\"'‘’《》<>·/\\|_-]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
LEVEL_ORDER = {"province": 0, "city": 1, "county": 2}


def normalize(value: str | None, *, simplify: bool = True) -> str:
    """Lower case, full-width folded, punctuation as single spaces, and (for what citizens type)
    traditional characters made simplified; the catalogue is written in simplified already."""
    if not value:
        return ""
    value = unicodedata.normalize("NFKC", value).lower()
    if simplify and _CJK.search(value):
        value = _to_simplified.convert(value)
    return _PUNCTUATION.sub(" ", value).strip()


# Words that carry no meaning in a request ("我想办个食品许可证"): left out of fuzzy matching.
_FILLER = re.compile("我想|我要|我需要|想要|想办|要办|办理|办个|怎么办|怎么|如何|请问|需要|哪些|"
                     "什么|一下|可以|吗|呢|的|了|在哪")


def terms(query: str | None) -> list[str]:
    return [t for t in normalize(query).split(" ") if t]


def bigrams(value: str) -> set[str]:
    compact = value.replace(" ", "")
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def _cjk_pairs(value: str) -> set[str]:
    """Pairs of adjacent Chinese characters: what a Chinese word is made of."""
    return {pair for pair in bigrams(value) if _CJK.match(pair[0]) and _CJK.match(pair[-1])}


def _region_prefix(region: str) -> str:
    """330000 → 33 (the province), 330300 → 3303 (a city), 330381 → 330381 (a county)."""
    prefix = region
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def _in_region(matter_region: str | None, region: str) -> bool:
    """A matter serves a region when it belongs to it, to a place within it, or to one above it."""
    if not matter_region:
        return True
    asked, own = _region_prefix(region), _region_prefix(matter_region)
    return own.startswith(asked) or asked.startswith(own)


@dataclass
class _Index:
    revision: int
    matters: list[dict] = field(default_factory=list)  # sorted by code
    names: list[str] = field(default_factory=list)  # normalized "zh \x00 en"
    texts: list[str] = field(default_factory=list)  # names, synonyms, code
    # Chinese character pair → positions of the matters whose text holds it, in order.
    pairs: dict[str, list[int]] = field(default_factory=dict)
    by_department: dict[str, list[int]] = field(default_factory=dict)
    by_level: dict[str, list[int]] = field(default_factory=dict)
    departments: dict[str, dict] = field(default_factory=dict)
    bundles: list[dict] = field(default_factory=list)


_lock = threading.Lock()
_index: _Index | None = None


def _build(revision: int) -> _Index:
    index = _Index(revision=revision)
    index.departments = {d["code"]: d for d in Department._get_collection().find(
        {}, {"_id": 0, "code": 1, "name": 1, "region": 1, "synonyms": 1})}
    documents = Matter._get_collection().find(
        {"retired": {"$ne": True}},
        {"_id": 0, "code": 1, "name": 1, "department": 1, "level": 1, "region": 1, "parent": 1,
         "synonyms": 1, "promised": 1}).batch_size(5000)
    pairs = index.pairs
    for position, matter in enumerate(sorted(documents, key=lambda m: m["code"])):
        names = matter.get("name") or {}
        index.matters.append(matter)
        zh = normalize(names.get("zh-CN"), simplify=False)
        index.names.append(f"{zh}\x00{normalize(names.get('en'), simplify=False)}")
        synonyms = normalize(" ".join(matter.get("synonyms") or []), simplify=False)
        index.texts.append(f"{index.names[-1]}\x00{synonyms}\x00{matter['code']}")
        for pair in _cjk_pairs(f"{zh} {synonyms}"):
            pairs.setdefault(pair, []).append(position)
        index.by_department.setdefault(matter.get("department"), []).append(position)
        index.by_level.setdefault(matter.get("level"), []).append(position)
    for bundle in Bundle._get_collection().find(
            {"retired": {"$ne": True}},
            {"_id": 0, "code": 1, "name": 1, "description": 1, "synonyms": 1, "life_event": 1,
             "steps": 1, "version": 1, "figures_before": 1, "visits_after": 1}):
        names = bundle.get("name") or {}
        phrases = [normalize(p) for p in [*names.values(), *(bundle.get("synonyms") or [])]]
        bundle["_phrases"] = [p for p in phrases if p]
        bundle["_text"] = "\x00".join(bundle["_phrases"] + [normalize(bundle["code"])] + [
            normalize(v) for v in (bundle.get("description") or {}).values()])
        index.bundles.append(bundle)
    index.bundles.sort(key=lambda b: b["code"])
    return index


def current_index() -> _Index:
    """The index for the catalogue's current revision, rebuilt here if another write moved it."""
    global _index
    revision = catalogue.current_revision()
    index = _index
    if index is not None and index.revision == revision:
        return index
    with _lock:
        if _index is None or _index.revision != revision:
            _index = _build(revision)
            log.info("catalogue index rebuilt at revision %s: %s matters", revision,
                     len(_index.matters))
        return _index


# ---------------------------------------------------------------------------------------------
# Matters

def _matter_item(index: _Index, matter: dict, locale: str) -> dict:
    department = index.departments.get(matter.get("department")) or {}
    return {
        "code": matter["code"],
        "name": pick(matter.get("name"), locale) or matter["code"],
        "names": matter.get("name") or {},
        "department": matter.get("department"),
        "department_name": pick(department.get("name"), locale) or matter.get("department"),
        "level": matter.get("level"),
        "region": matter.get("region"),
        "parent": matter.get("parent"),
        "promised": matter.get("promised"),
    }


def _candidates(index: _Index, department: str | None, level: str | None,
                region: str | None) -> list[int] | None:
    """Positions the filters allow, in order; None when there is no filter (all of them)."""
    if department is None and level is None and not region:
        return None
    if department is not None:
        positions = index.by_department.get(department, [])
    elif level is not None:
        positions = index.by_level.get(level, [])
    else:
        positions = range(len(index.matters))
    matters = index.matters
    if level is not None and department is not None:
        positions = [i for i in positions if matters[i].get("level") == level]
    if region:
        positions = [i for i in positions if _in_region(matters[i].get("region"), region)]
    return list(positions)


def _containing(index: _Index, allowed: list[int] | None, words: list[str]) -> list[int]:
    """Positions whose text holds every word, in order.

    A Chinese word starts from the matters holding its rarest character pair; anything else is
    a scan of the (short) texts, which is quick enough at ten times Zhejiang's catalogue.
    """
    texts = index.texts
    first, rest = words[0], words[1:]
    pairs = _cjk_pairs(first)
    if pairs:
        postings = min((index.pairs.get(pair, []) for pair in pairs), key=len)
        hits = [i for i in postings if first in texts[i]]
        if allowed is not None:
            keep = set(allowed)
            hits = [i for i in hits if i in keep]
    else:
        source = allowed if allowed is not None else range(len(texts))
        hits = [i for i in source if first in texts[i]]
    for word in rest:
        hits = [i for i in hits if word in texts[i]]
    return hits


def _rank(index: _Index, hits: list[int], phrase: str) -> list[int]:
    """Best first: the name itself, a name starting with it, a name holding it, then the rest."""
    names = index.names
    exact, prefix, within, rest = [], [], [], []
    for i in hits:
        zh, _, en = names[i].partition("\x00")
        if phrase in (zh, en):
            exact.append(i)
        elif zh.startswith(phrase) or en.startswith(phrase):
            prefix.append(i)
        elif phrase in zh or phrase in en:
            within.append(i)
        else:
            rest.append(i)
    return exact + prefix + within + rest


def search_matters(*, q: str | None = None, department: str | None = None,
                   level: str | None = None, region: str | None = None, page: int = 1,
                   page_size: int = 20, locale: str | None = None) -> tuple[list[dict], int]:
    """Live matters matching the text (Chinese or English, synonyms included) and the filters.

    Every word of the query must appear; when none does, matters sharing most of the query's
    character pairs are offered instead (a colloquial or slightly different wording).
    Returns one page of items and the total.
    """
    locale = locale or current_locale.get()
    index = current_index()
    allowed = _candidates(index, department, level, region)
    positions = allowed if allowed is not None else range(len(index.matters))
    words = terms(q)
    if words:
        hits = _containing(index, allowed, words)
        if hits:
            positions = _rank(index, hits, " ".join(words))
        else:
            positions = _fuzzy(index, allowed, "".join(words))
    total = len(positions)
    start = (max(page, 1) - 1) * page_size
    return [_matter_item(index, index.matters[i], locale)
            for i in positions[start:start + page_size]], total


def _fuzzy(index: _Index, allowed: list[int] | None, query: str,
           threshold: float = 0.5) -> list[int]:
    """Matters sharing at least half of the query's Chinese character pairs, most shared first.

    Filler ("我想办个…") is left out first; English has no such fallback, since letter pairs
    would match "stubborn" to "born".
    """
    wanted = _cjk_pairs(_FILLER.sub(" ", query))
    if len(wanted) < 2:
        return []
    shared: dict[int, int] = {}
    for pair in wanted:
        for i in index.pairs.get(pair, ()):
            shared[i] = shared.get(i, 0) + 1
    needed = threshold * len(wanted)
    keep = set(allowed) if allowed is not None else None
    scored = sorted((-count, i) for i, count in shared.items()
                    if count >= needed and (keep is None or i in keep))
    return [i for _, i in scored]


# ---------------------------------------------------------------------------------------------
# Bundles

def _phrase_in(phrase: str, text: str) -> bool:
    """A phrase inside a text; Latin phrases only as whole words ("born" is not in "stubborn")."""
    if _LATIN_WORD.fullmatch(phrase.replace(" ", "")):
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None
    return phrase in text


def bundle_score(bundle: dict, query: str) -> float:
    """How well a text names a bundle: 0 (not at all) to 100 (its name or a synonym exactly)."""
    if not query:
        return 0.0
    best = 0.0
    for phrase in bundle["_phrases"]:
        if phrase == query:
            return 100.0
        if len(phrase) >= 2 and _phrase_in(phrase, query):
            # The text mentions it ("我刚生孩子了" holds "生孩子"): longer phrases are surer.
            best = max(best, 60.0 + min(len(phrase), 20))
        elif len(query) >= 2 and _phrase_in(query, phrase):
            best = max(best, 50.0)
    if best:
        return best
    words = query.split(" ")
    if all(word in bundle["_text"] for word in words):
        return 30.0
    wanted = _cjk_pairs(_FILLER.sub(" ", query))
    if len(wanted) >= 2:
        shared = sum(1 for pair in wanted if pair in bundle["_text"])
        if shared / len(wanted) >= 0.5:
            return 10.0 * shared / len(wanted)
    return 0.0


def match_bundles(text: str, *, limit: int = 3) -> list[tuple[str, float]]:
    """Bundles a free text (a question in Chinese or English) is about, surest first."""
    query = normalize(text)
    scored = [(bundle_score(b, query), b["code"]) for b in current_index().bundles]
    return [(code, score) for score, code in sorted(scored, key=lambda s: (-s[0], s[1]))
            if score > 0][:limit]


def _bundle_item(bundle: dict, locale: str) -> dict:
    steps = bundle.get("steps") or []
    return {
        "code": bundle["code"],
        "name": pick(bundle.get("name"), locale),
        "names": bundle.get("name") or {},
        "description": pick(bundle.get("description"), locale),
        "life_event": bundle.get("life_event"),
        "version": bundle.get("version", 1),
        "synonyms": bundle.get("synonyms") or [],
        "matters": len(steps),
        "figures_before": {k: v for k, v in (bundle.get("figures_before") or {}).items()
                           if v is not None},
    }


def search_bundles(*, q: str | None = None, locale: str | None = None) -> list[dict]:
    """Live bundles, all of them or those a text names (best match first)."""
    locale = locale or current_locale.get()
    index = current_index()
    if not terms(q):
        return [_bundle_item(b, locale) for b in index.bundles]
    query = normalize(q)
    scored = [(bundle_score(b, query), b) for b in index.bundles]
    return [dict(_bundle_item(b, locale), score=score)
            for score, b in sorted(scored, key=lambda s: (-s[0], s[1]["code"])) if score > 0]


def list_departments(*, q: str | None = None, locale: str | None = None) -> list[dict]:
    locale = locale or current_locale.get()
    index = current_index()
    counts = {code: len(positions) for code, positions in index.by_department.items()}
    words = terms(q)
    items = []
    for code, department in sorted(index.departments.items()):
        if words:
            text = normalize(" ".join([code, *(department.get("name") or {}).values(),
                                       *(department.get("synonyms") or [])]))
            if not all(word in text for word in words):
                continue
        items.append({"code": code, "name": pick(department.get("name"), locale) or code,
                      "names": department.get("name") or {}, "region": department.get("region"),
                      "matters": counts.get(code, 0)})
    return items
