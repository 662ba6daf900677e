"""The in-process index the catalogue is searched from, kept true to the database.

Each process keeps an index of the live matters and bundles. Every catalogue write moves the
revision stored in the database; on its next request a process sees that and catches up (reading
only the matters changed since, or everything when it cannot be sure), so no process serves a
catalogue another has changed.

Reading every matter from the database is what makes a fresh index slow (ten times Zhejiang's
catalogue: tens of seconds on the embedded server), so a process that has built one leaves a
snapshot of it in the database, and a starting process loads that and catches up from it
instead (see search_snapshot). The index is kept in columns of plain strings and numbers, not a
dict per matter: a snapshot loads in a fraction of a second, and the garbage collector has a few
hundred lists to look at instead of hundreds of thousands of dicts.
"""
import json
import logging
import re
import threading
import unicodedata
from array import array
from datetime import UTC, datetime, timedelta

import opencc
from flask import current_app, has_app_context

from models import catalogue_state
from models.catalogue import Bundle, Department, Matter
from services.catalogue import search_snapshot

log = logging.getLogger(__name__)

_to_simplified = opencc.OpenCC("t2s")
_PUNCTUATION = re.compile(r"[\s\u3000,.;:!?，。；：！？、（）()\[\]【】“”\"'‘’《》<>·/\\|_-]+")
LATIN_WORD = re.compile(r"[a-z0-9]+")
CJK = re.compile(r"[\u3400-\u9fff]")


def normalize(value: str | None, *, simplify: bool = True) -> str:
    """Lower case, full-width folded, punctuation as single spaces, and (for what citizens type)
    traditional characters made simplified; the catalogue is written in simplified already."""
    if not value:
        return ""
    value = unicodedata.normalize("NFKC", value).lower()
    if simplify and CJK.search(value):
        value = _to_simplified.convert(value)
    return _PUNCTUATION.sub(" ", value).strip()


def bigrams(value: str) -> set[str]:
    compact = value.replace(" ", "")
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def cjk_pairs(value: str) -> set[str]:
    """Pairs of adjacent Chinese characters: what a Chinese word is made of."""
    return {pair for pair in bigrams(value) if CJK.match(pair[0]) and CJK.match(pair[-1])}


# One list per attribute, one place per matter id (None where the id's matter was replaced).
COLUMNS = ("codes", "zh", "en", "departments_of", "levels", "regions", "parents",
           "promised_values", "promised_units", "names", "texts")
# Postings: key → ids. None is a key too (a matter without a region).
POSTINGS = ("pairs", "words", "by_department", "by_level", "by_region")


class Index:
    """Live matters by id (ids only grow; a changed matter gets a new id, its old one dies),
    their normalized texts, postings by Chinese character pair and by English word, and the
    ids in code order. Copied before a change, so readers never see one half done."""

    def __init__(self, revision: int, reset: int, stamp: str | None = None):
        self.stamp = stamp
        self.revision = revision
        self.reset = reset
        self.synced_from: datetime | None = None
        for name in COLUMNS:
            setattr(self, name, [])
        for name in POSTINGS:
            setattr(self, name, {})
        self.by_code: dict[str, int] = {}
        self.order: list[int] = []  # live ids in code order
        self.rank: list[int] = []  # id → place in `order`
        self.department_counts: dict[str, int] = {}
        self.departments: dict[str, dict] = {}
        self.bundles: list[dict] = []

    def copy(self, revision: int, stamp: str | None) -> "Index":
        clone = Index(revision, self.reset, stamp)
        for name in COLUMNS:
            setattr(clone, name, list(getattr(self, name)))
        for name in (*POSTINGS, "by_code"):
            setattr(clone, name, dict(getattr(self, name)))
        clone.synced_from = self.synced_from
        return clone

    def live(self, id_: int) -> bool:
        return self.codes[id_] is not None

    @property
    def size(self) -> int:
        return len(self.codes)

    @staticmethod
    def _post(postings: dict, key, id_: int, shared: bool) -> None:
        if shared:  # the list may be read by a request right now: replace, never append
            postings[key] = [*postings.get(key, ()), id_]
        else:
            postings.setdefault(key, []).append(id_)

    def put(self, matter: dict, *, shared: bool = False) -> None:
        old = self.by_code.pop(matter["code"], None)
        if old is not None:
            self.codes[old] = None
        if matter.get("retired"):
            return
        id_ = len(self.codes)
        self.by_code[matter["code"]] = id_
        names = matter.get("name") or {}
        promised = matter.get("promised") or {}
        zh = normalize(names.get("zh-CN"), simplify=False)
        en = normalize(names.get("en"), simplify=False)
        synonyms = normalize(" ".join(matter.get("synonyms") or []), simplify=False)
        for name, value in (("codes", matter["code"]), ("zh", names.get("zh-CN")),
                            ("en", names.get("en")), ("departments_of", matter.get("department")),
                            ("levels", matter.get("level")),
                            ("regions", matter.get("region") or None),
                            ("parents", matter.get("parent")),
                            ("promised_values", promised.get("value")),
                            ("promised_units", promised.get("unit")),
                            ("names", f"{zh}\x00{en}"),
                            ("texts", f"{zh}\x00{en}\x00{synonyms}\x00{matter['code']}")):
            getattr(self, name).append(value)
        for pair in cjk_pairs(f"{zh} {synonyms}"):
            self._post(self.pairs, pair, id_, shared)
        for word in set(LATIN_WORD.findall(f"{en} {synonyms}")):
            self._post(self.words, word, id_, shared)
        self._post(self.by_department, matter.get("department"), id_, shared)
        self._post(self.by_level, matter.get("level"), id_, shared)
        self._post(self.by_region, matter.get("region") or None, id_, shared)

    def matter(self, id_: int) -> dict:
        """One matter as the database has it (the fields the index keeps)."""
        value = self.promised_values[id_]
        return {"code": self.codes[id_], "name": {"zh-CN": self.zh[id_], "en": self.en[id_]},
                "department": self.departments_of[id_], "level": self.levels[id_],
                "region": self.regions[id_], "parent": self.parents[id_],
                "promised": ({"value": value, "unit": self.promised_units[id_]}
                             if value is not None else None)}

    def finish(self, order: list[int] | None = None) -> None:
        codes = self.codes
        self.order = order if order is not None else sorted(
            (i for i, c in enumerate(codes) if c is not None), key=codes.__getitem__)
        rank = [len(codes)] * len(codes)
        for place, id_ in enumerate(self.order):
            rank[id_] = place
        self.rank = rank
        self.department_counts = {code: sum(codes[i] is not None for i in ids)
                                  for code, ids in self.by_department.items()}

    # Snapshots --------------------------------------------------------------------------------

    def to_snapshot(self) -> bytes:
        """The live part of the index as bytes: dead ids are left out and the rest renumbered
        in code order. String columns are joined with a separator and split again on loading,
        postings are 32-bit ids back to back: both read far faster than JSON lists of them."""
        live = self.order
        new_id = [-1] * self.size
        for place, id_ in enumerate(live):
            new_id[id_] = place
        header: dict = {"count": len(live), "strings": {}, "numbers": {}, "postings": {}}
        texts = []
        for name in COLUMNS:
            values = [getattr(self, name)[i] for i in live]
            if name in _NUMBERS:
                header["numbers"][name] = values
            else:
                texts.append(_join(values).encode())
                header["strings"][name] = len(texts[-1])
        ids = array("i")
        for name in POSTINGS:
            keys, counts = [], []
            for key, members in getattr(self, name).items():
                kept = [new_id[i] for i in members if new_id[i] >= 0]
                if kept:
                    keys.append(key)
                    counts.append(len(kept))
                    ids.extend(kept)
            header["postings"][name] = {"keys": keys, "counts": counts}
        encoded = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        return b"".join([len(encoded).to_bytes(4, "big"), encoded, *texts, ids.tobytes()])

    @classmethod
    def from_snapshot(cls, raw: bytes, *, revision: int, reset: int, stamp: str,
                      synced_from: datetime | None) -> "Index":
        view = memoryview(raw)
        size = int.from_bytes(view[:4], "big")
        header = json.loads(bytes(view[4:4 + size]))
        at = 4 + size
        index = cls(revision, reset, stamp)
        count = header["count"]
        for name in COLUMNS:
            if name in _NUMBERS:
                values = header["numbers"][name]
            else:
                length = header["strings"][name]
                values = _split(str(view[at:at + length], "utf-8"), count)
                at += length
            setattr(index, name, values)
        ids = array("i")
        ids.frombytes(view[at:])
        at = 0
        for name in POSTINGS:
            postings = {}
            spec = header["postings"][name]
            for key, length in zip(spec["keys"], spec["counts"], strict=True):
                postings[key] = ids[at:at + length].tolist()
                at += length
            setattr(index, name, postings)
        index.by_code = {code: i for i, code in enumerate(index.codes)}
        index.synced_from = synced_from
        index.finish(order=list(range(count)))  # stored in code order
        return index


# Columns of numbers (the rest are strings, or None).
_NUMBERS = {"promised_values"}
_SEPARATOR, _NONE = "\x1e", "\x1a"  # ASCII record separator; substitute stands for None


def _join(values: list) -> str:
    if any(v is not None and (_SEPARATOR in v or v == _NONE) for v in values):
        raise ValueError("a catalogue text holds a control character the snapshot uses")
    return _SEPARATOR.join(_NONE if v is None else v for v in values)


def _split(joined: str, count: int) -> list:
    values = [None if v == _NONE else v for v in joined.split(_SEPARATOR)] if count else []
    if len(values) != count:
        raise ValueError("the snapshot's columns do not agree")
    return values


_lock = threading.Lock()
_index: Index | None = None
_persisting = threading.Lock()
_stored_revision: int | None = None  # of the snapshot this process last loaded or stored
_MATTER_PROJECTION = {"_id": 0, "code": 1, "name": 1, "department": 1, "level": 1, "region": 1,
                      "parent": 1, "synonyms": 1, "promised": 1, "retired": 1}
# Writes stamp updated_at with their own clock: look back this far for ones that landed late.
_SYNC_OVERLAP = timedelta(seconds=30)
# A snapshot this many revisions behind is replaced by the next process that catches up.
_SNAPSHOT_STALE_AFTER = 16


def load_small_parts(index: Index) -> None:
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


def _sync(index: Index | None, state: dict) -> Index:
    """The index brought to the catalogue's state: only what changed is read, unless matters
    were removed wholesale (a regenerated catalogue), when everything is read again."""
    revision, reset = state.get("revision", 0), state.get("reset", 0)
    started = datetime.now(UTC)
    collection = Matter._get_collection()
    if index is None:
        fresh = Index(revision, reset, state.get("stamp"))
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
    load_small_parts(fresh)
    return fresh


def _snapshots_enabled() -> bool:
    return bool(current_app.config.get("CATALOGUE_INDEX_SNAPSHOTS", False)
                if has_app_context() else False)


def _from_snapshot(state: dict) -> Index | None:
    """The index as another process left it, if it is of this catalogue's recent history."""
    stored = search_snapshot.load(stamps=state.get("stamps") or (), reset=state.get("reset", 0))
    if stored is None:
        return None
    global _stored_revision
    pointer, data = stored
    try:
        index = Index.from_snapshot(data, revision=pointer["revision"], reset=pointer["reset"],
                                    stamp=pointer["stamp"],
                                    synced_from=pointer.get("synced_from"))
    except (ValueError, KeyError, TypeError):
        log.warning("the stored catalogue index snapshot cannot be read; building instead")
        return None
    _stored_revision = pointer["revision"]
    load_small_parts(index)
    log.info("catalogue index loaded from the snapshot of revision %s", pointer["revision"])
    return index


def store_snapshot(index: Index) -> None:
    """Leave a snapshot of the index for the next process to start from."""
    global _stored_revision
    search_snapshot.save(index.to_snapshot(), stamp=index.stamp, revision=index.revision,
                         reset=index.reset, synced_from=index.synced_from)
    _stored_revision = index.revision


def _persist_later(index: Index) -> None:
    """Store a snapshot beside serving, one at a time."""
    if not _persisting.acquire(blocking=False):
        return

    def write() -> None:
        try:
            store_snapshot(index)
        except Exception:  # a snapshot is a convenience: the next process builds its own
            log.exception("could not store the catalogue index snapshot")
        finally:
            _persisting.release()

    threading.Thread(target=write, name="catalogue-index-snapshot", daemon=True).start()


def wait_for_snapshot(timeout: float | None = None) -> bool:
    """Until a snapshot being written beside serving is stored (benchmarks, tests); False when
    it is still being written after `timeout` seconds."""
    if not _persisting.acquire(timeout=-1 if timeout is None else timeout):
        return False
    _persisting.release()
    return True


def stored_revision() -> int | None:
    """The revision of the snapshot this process last loaded or stored, if any."""
    return _stored_revision


def prebuild() -> Index:
    """Build the index now and store its snapshot before returning (after a wholesale change,
    such as a generated catalogue, so that no process pays for reading every matter)."""
    global _index
    with _lock:
        state = catalogue_state.current_state()
        _index = _sync(None, state)
        store_snapshot(_index)
        return _index


def current_index(state: dict | None = None) -> Index:
    """The index for the catalogue as it stands, caught up here if a write moved it.

    Each change leaves a random stamp in the database (the last few are kept): an index made at
    a stamp the database still lists catches up on what changed since; one made at a stamp it
    does not know (a database restored or loaded afresh) is rebuilt whole. A process without an
    index starts from the stored snapshot when there is one of the recent history.
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
            snapshots = _snapshots_enabled()
            previous = _index
            if previous is None and snapshots:
                previous = _from_snapshot(state)
            if previous is not None and (previous.stamp not in (state.get("stamps") or ())
                                         or previous.reset != state.get("reset", 0)):
                previous = None
            if previous is not None and previous.stamp == stamp:
                _index = previous
            else:
                whole = previous is None
                _index = _sync(previous, state)
                behind = _index.revision - (_stored_revision or 0)
                if snapshots and (whole or behind >= _SNAPSHOT_STALE_AFTER):
                    _persist_later(_index)
        return _index


def warm_up(app) -> None:
    """Have the index ready before the first search (a thread beside start-up)."""
    try:
        with app.app_context():
            current_index()
    except Exception:  # the first search builds it then
        log.exception("could not prepare the catalogue index at start")


def forget() -> None:
    """Drop this process's index (as if it had just started)."""
    global _index
    with _lock:
        _index = None
