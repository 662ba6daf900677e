"""Searching the catalogue in Python (the database has no text index), from an in-process index.

Each process keeps an index of the live matters and bundles. Every catalogue write moves the
revision stored in the database; on its next request a process sees that and catches up (reading
only the matters changed since, or everything when it cannot be sure), so no process serves a
catalogue another has changed.
"""
import logging
import re
import threading
import unicodedata
from datetime import UTC, datetime, timedelta

import opencc

from common import divisions
from common.i18n import current_locale, pick
from models import catalogue_state
from models.catalogue import Bundle, Department, Matter

log = logging.getLogger(__name__)

_to_simplified = opencc.OpenCC("t2s")
_PUNCTUATION = re.compile(r"[\s\u3000,.;:!?，。；：！？、（）()\[\]【】“”\"'‘’《》<>·/\\|_-]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


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


def _in_region(matter_region: str | None, region: str) -> bool:
    """A matter serves a region when it belongs to it, to a place within it, or to one above it."""
    if not matter_region:
        return True
    return divisions.within(matter_region, region) or divisions.within(region, matter_region)


class _Index:
    """Live matters by id (ids only grow; a changed matter gets a new id, its old one dies),
    their normalized texts, postings by Chinese character pair and by English word, and the
    ids in code order. Copied before a change, so readers never see one half done."""

    def __init__(self, revision: int, reset: int, stamp: str | None = None):
        self.stamp = stamp
        self.revision = revision
        self.reset = reset
        self.synced_from: datetime | None = None
        self.matters: list[dict | None] = []
        self.names: list[str] = []  # normalized "zh \x00 en"
        self.texts: list[str] = []  # names, synonyms, code
        self.pairs: dict[str, list[int]] = {}
        self.words: dict[str, list[int]] = {}
        self.by_department: dict[str, list[int]] = {}
        self.by_level: dict[str, list[int]] = {}
        self.by_region: dict[str | None, list[int]] = {}
        self.by_code: dict[str, int] = {}
        self.order: list[int] = []  # live ids in code order
        self.rank: list[int] = []  # id → place in `order`
        self.department_counts: dict[str, int] = {}
        self.departments: dict[str, dict] = {}
        self.bundles: list[dict] = []

    def copy(self, revision: int, stamp: str | None) -> "_Index":
        clone = _Index(revision, self.reset, stamp)
        for name in ("matters", "names", "texts"):
            setattr(clone, name, list(getattr(self, name)))
        for name in ("pairs", "words", "by_department", "by_level", "by_region", "by_code"):
            setattr(clone, name, dict(getattr(self, name)))
        clone.synced_from = self.synced_from
        return clone

    @staticmethod
    def _post(postings: dict[str, list[int]], key, id_: int, shared: bool) -> None:
        if shared:  # the list may be read by a request right now: replace, never append
            postings[key] = [*postings.get(key, ()), id_]
        else:
            postings.setdefault(key, []).append(id_)

    def put(self, matter: dict, *, shared: bool = False) -> None:
        old = self.by_code.pop(matter["code"], None)
        if old is not None:
            self.matters[old] = None
        if matter.get("retired"):
            return
        id_ = len(self.matters)
        self.by_code[matter["code"]] = id_
        names = matter.get("name") or {}
        zh = normalize(names.get("zh-CN"), simplify=False)
        en = normalize(names.get("en"), simplify=False)
        synonyms = normalize(" ".join(matter.get("synonyms") or []), simplify=False)
        self.matters.append(matter)
        self.names.append(f"{zh}\x00{en}")
        self.texts.append(f"{zh}\x00{en}\x00{synonyms}\x00{matter['code']}")
        for pair in _cjk_pairs(f"{zh} {synonyms}"):
            self._post(self.pairs, pair, id_, shared)
        for word in set(_LATIN_WORD.findall(f"{en} {synonyms}")):
            self._post(self.words, word, id_, shared)
        self._post(self.by_department, matter.get("department"), id_, shared)
        self._post(self.by_level, matter.get("level"), id_, shared)
        self._post(self.by_region, matter.get("region") or None, id_, shared)

    def finish(self) -> None:
        matters = self.matters
        self.order = sorted((i for i, m in enumerate(matters) if m is not None),
                            key=lambda i: matters[i]["code"])
        rank = [len(matters)] * len(matters)
        for place, id_ in enumerate(self.order):
            rank[id_] = place
        self.rank = rank
        self.department_counts = {code: sum(matters[i] is not None for i in ids)
                                  for code, ids in self.by_department.items()}


_lock = threading.Lock()
_index: _Index | None = None
_MATTER_PROJECTION = {"_id": 0, "code": 1, "name": 1, "department": 1, "level": 1, "region": 1,
                      "parent": 1, "synonyms": 1, "promised": 1, "retired": 1}
# Writes stamp updated_at with their own clock: look back this far for ones that landed late.
_SYNC_OVERLAP = timedelta(seconds=30)


def _load_small_parts(index: _Index) -> None:
    index.departments = {d["code"]: d for d in Department._get_collection().find(
        {}, {"_id": 0, "code": 1, "name": 1, "regions": 1, "synonyms": 1})}
    index.bundles = []
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


def _sync(index: _Index | None, state: dict) -> _Index:
    """The index brought to the catalogue's state: only what changed is read, unless matters
    were removed wholesale (a regenerated catalogue), when everything is read again."""
    revision, reset = state.get("revision", 0), state.get("reset", 0)
    started = datetime.now(UTC)
    collection = Matter._get_collection()
    if index is None:
        fresh = _Index(revision, reset, state.get("stamp"))
        for matter in collection.find({"retired": {"$ne": True}},
                                      _MATTER_PROJECTION).batch_size(5000):
            fresh.put(matter)
        log.info("catalogue index built at revision %s", revision)
    else:
        fresh = index.copy(revision, state.get("stamp"))
        changed = collection.find({"updated_at": {"$gte": index.synced_from}},
                                  _MATTER_PROJECTION).batch_size(5000)
        for matter in changed:
            fresh.put(matter, shared=True)
    reset_at = state.get("reset_at")
    fresh.synced_from = max(started - _SYNC_OVERLAP, reset_at or started - _SYNC_OVERLAP)
    fresh.finish()
    _load_small_parts(fresh)
    return fresh


def current_index(state: dict | None = None) -> _Index:
    """The index for the catalogue as it stands, caught up here if a write moved it.

    Each change leaves a random stamp in the database (the last few are kept): an index made at
    a stamp the database still lists catches up on what changed since; one made at a stamp it
    does not know (a database restored or loaded afresh) is rebuilt whole.
    """
    global _index
    state = catalogue_state.current_state() if state is None else state
    stamp = state.get("stamp")
    if not stamp:
        # Nothing was ever recorded (matters written straight to the database): read it all.
        return _sync(None, state)
    index = _index
    if index is not None and index.stamp == stamp:
        return index
    with _lock:
        if _index is None or _index.stamp != stamp:
            previous = _index
            if previous is not None and (previous.stamp not in (state.get("stamps") or ())
                                         or previous.reset != state.get("reset", 0)):
                previous = None
            _index = _sync(previous, state)
        return _index


def live_bundle(code: str, state: dict | None = None) -> dict | None:
    """A bundle on offer (not retired) as the index knows it: code, names, version, ..."""
    return next((b for b in current_index(state).bundles if b["code"] == code), None)


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
    """Live ids the filters allow; None when there is no filter (all of them)."""
    if department is None and level is None and not region:
        return None
    matters = index.matters
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
    ids = [i for i in ids if matters[i] is not None]
    if level is not None and department is not None:
        ids = [i for i in ids if matters[i].get("level") == level]
    if in_region is not None:
        ids = [i for i in ids if i in in_region]
    return ids


def _containing(index: _Index, allowed: list[int] | None, words: list[str]) -> list[int]:
    """Live ids whose text holds every word.

    A Chinese word starts from the matters holding its rarest character pair, an English one
    from the matters with a word containing it; anything else (a code, digits) scans the texts.
    """
    texts, matters = index.texts, index.matters
    first, rest = words[0], words[1:]
    pairs = _cjk_pairs(first)
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
    hits = [i for i in hits if matters[i] is not None]
    if allowed is not None:
        keep = set(allowed)
        hits = [i for i in hits if i in keep]
    for word in rest:
        hits = [i for i in hits if word in texts[i]]
    return hits


def _rank(index: _Index, hits: list[int], phrase: str) -> list[int]:
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
    return [_matter_item(index, index.matters[i], locale)
            for i in ids[start:start + page_size]], len(ids)


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
    matters, rank = index.matters, index.rank
    scored = sorted((-count, rank[i], i) for i, count in shared.items()
                    if count >= needed and matters[i] is not None and (keep is None or i in keep))
    return [i for _, _, i in scored]


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
