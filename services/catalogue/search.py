"""Searching the catalogue in Python (the database has no text index), from an in-process index.

The index (search_index) holds the live matters and bundles and follows every catalogue change;
this module answers from it: matters by words and filters, bundles by what citizens call them,
departments.
"""
import logging
import re

from common import divisions
from common.i18n import current_locale, pick
from services.catalogue import search_index
from services.catalogue.search_index import (
    LATIN_WORD,
    Index,
    bigrams,
    cjk_pairs,
    current_index,
    normalize,
)

log = logging.getLogger(__name__)

# Read by other modules through this one (the catalogue's search, as one name).
__all__ = ["bigrams", "current_index", "normalize", "search_index"]

# Words that carry no meaning in a request ("我想办个食品许可证"): left out of fuzzy matching.
_FILLER = re.compile("我想|我要|我需要|想要|想办|要办|办理|办个|怎么办|怎么|如何|请问|需要|哪些|"
                     "什么|一下|可以|吗|呢|的|了|在哪")


def terms(query: str | None) -> list[str]:
    return [t for t in normalize(query).split(" ") if t]


def _in_region(matter_region: str | None, region: str) -> bool:
    """A matter serves a region when it belongs to it, to a place within it, or to one above it."""
    if not matter_region:
        return True
    return divisions.within(matter_region, region) or divisions.within(region, matter_region)


def live_bundle(code: str, state: dict | None = None) -> dict | None:
    """A bundle on offer (not retired) as the index knows it: code, names, version, ..."""
    return next((b for b in current_index(state).bundles if b["code"] == code), None)


# ---------------------------------------------------------------------------------------------
# Matters

def _matter_item(index: Index, id_: int, locale: str) -> dict:
    matter = index.matter(id_)
    department = index.departments.get(matter["department"]) or {}
    return {
        "code": matter["code"],
        "name": pick(matter["name"], locale) or matter["code"],
        "names": {k: v for k, v in matter["name"].items() if v},
        "department": matter["department"],
        "department_name": pick(department.get("name"), locale) or matter["department"],
        "level": matter["level"],
        "region": matter["region"],
        "parent": matter["parent"],
        "promised": matter["promised"],
    }


def _candidates(index: Index, department: str | None, level: str | None,
                region: str | None) -> list[int] | None:
    """Live ids the filters allow; None when there is no filter (all of them)."""
    if department is None and level is None and not region:
        return None
    codes, levels = index.codes, index.levels
    in_region: set[int] | None = None
    if region:
        # A hundred or so divisions to compare, not every matter.
        in_region = set()
        for own, ids in index.by_region.items():
            if _in_region(own, region):
                in_region.update(ids)
    if department is not None:
        ids = index.by_department.get(department, [])
    elif level is not None:
        ids = index.by_level.get(level, [])
    else:
        ids = list(in_region or ())
        in_region = None
    ids = [i for i in ids if codes[i] is not None]
    if level is not None and department is not None:
        ids = [i for i in ids if levels[i] == level]
    if in_region is not None:
        ids = [i for i in ids if i in in_region]
    return ids


def _containing(index: Index, allowed: list[int] | None, words: list[str]) -> list[int]:
    """Live ids whose text holds every word.

    A Chinese word starts from the matters holding its rarest character pair, an English one
    from the matters with a word containing it; anything else (a code, digits) scans the texts.
    """
    texts, codes = index.texts, index.codes
    first, rest = words[0], words[1:]
    pairs = cjk_pairs(first)
    if pairs:
        postings = min((index.pairs.get(pair, []) for pair in pairs), key=len)
        if allowed is not None and len(allowed) < len(postings):
            postings = allowed  # the filters already narrowed it more than the word does
        hits = [i for i in postings if first in texts[i]]
    else:
        found: set[int] = set()
        for word, ids in index.words.items():
            if first in word:
                found.update(ids)
        hits = list(found) if found else [i for i in range(len(texts)) if first in texts[i]]
    hits = [i for i in hits if codes[i] is not None]
    if allowed is not None:
        keep = set(allowed)
        hits = [i for i in hits if i in keep]
    for word in rest:
        hits = [i for i in hits if word in texts[i]]
    return hits


def _rank(index: Index, hits: list[int], phrase: str) -> list[int]:
    """Best first: the name itself, a name starting with it, a name holding it, then the rest;
    in code order within each."""
    names = index.names
    exact, prefix, within, rest = [], [], [], []
    for i in sorted(hits, key=index.rank.__getitem__):
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
    Chinese character pairs are offered instead (a colloquial or slightly different wording).
    Returns one page of items and the total.
    """
    locale = locale or current_locale.get()
    index = current_index()
    allowed = _candidates(index, department, level, region)
    words = terms(q)
    if words:
        hits = _containing(index, allowed, words)
        if hits:
            ids = _rank(index, hits, " ".join(words))
        else:
            ids = _fuzzy(index, allowed, "".join(words))
    elif allowed is not None:
        ids = sorted(allowed, key=index.rank.__getitem__)
    else:
        ids = index.order
    start = (max(page, 1) - 1) * page_size
    return [_matter_item(index, i, locale) for i in ids[start:start + page_size]], len(ids)


def _fuzzy(index: Index, allowed: list[int] | None, query: str,
           threshold: float = 0.5) -> list[int]:
    """Matters sharing at least half of the query's Chinese character pairs, most shared first.

    Filler ("我想办个…") is left out first; English has no such fallback, since letter pairs
    would match "stubborn" to "born".
    """
    wanted = cjk_pairs(_FILLER.sub(" ", query))
    if len(wanted) < 2:
        return []
    shared: dict[int, int] = {}
    for pair in wanted:
        for i in index.pairs.get(pair, ()):
            shared[i] = shared.get(i, 0) + 1
    needed = threshold * len(wanted)
    keep = set(allowed) if allowed is not None else None
    codes, rank = index.codes, index.rank
    scored = sorted((-count, rank[i], i) for i, count in shared.items()
                    if count >= needed and codes[i] is not None and (keep is None or i in keep))
    return [i for _, _, i in scored]


# ---------------------------------------------------------------------------------------------
# Bundles

def _phrase_in(phrase: str, text: str) -> bool:
    """A phrase inside a text; Latin phrases only as whole words ("born" is not in "stubborn")."""
    if LATIN_WORD.fullmatch(phrase.replace(" ", "")):
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
    wanted = cjk_pairs(_FILLER.sub(" ", query))
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


def list_departments(*, q: str | None = None, region: str | None = None,
                     locale: str | None = None) -> list[dict]:
    """Departments (kinds of department), or those a region has, with their live matters."""
    locale = locale or current_locale.get()
    index = current_index()
    counts = index.department_counts
    words = terms(q)
    items = []
    for code, department in sorted(index.departments.items()):
        if region and region not in (department.get("regions") or ()):
            continue
        if words:
            text = normalize(" ".join([code, *(department.get("name") or {}).values(),
                                       *(department.get("synonyms") or [])]))
            if not all(word in text for word in words):
                continue
        items.append({"code": code, "name": pick(department.get("name"), locale) or code,
                      "names": department.get("name") or {}, "region": region or None,
                      "regions": len(department.get("regions") or ()),
                      "matters": counts.get(code, 0)})
    return items
