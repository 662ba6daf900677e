"""Understanding one message: its intent, the "one thing" it is about, and how sure we are."""
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.nlu.features import (
    CJK_RUN,
    FEATURES,
    PLACEHOLDER,
    LinearScorer,
    _build_pipeline,
    _probabilities,
)
from assistant.nlu.rules import (
    CONFIRM_WORDS,
    DENY_WORDS,
    GREET_WORDS,
    NEGATED,
    PUNCT,
    _handoff_rule,
)
from assistant.normalize import detect_locale, normalize, pinyin_form

DATA = Path(__file__).resolve().parents[1] / "data"

INTENTS = ("explore_bundle", "ask_materials", "check_status", "apply", "confirm", "deny", "faq",
           "greet_thanks", "handoff_human", "out_of_scope")
BUNDLES = ("newborn", "kindergarten_admission", "school_enrollment", "marriage_childbearing",
           "business_deregistration", "vehicle_registration", "farmhouse_construction",
           "small_shop_registration")
WEIGHTS = {"strong": 3.0, "medium": 2.0, "weak": 1.0}
BUNDLE_THRESHOLD = 2.0  # a lexicon score below this is a hint, not a decision
BUNDLE_MODEL_THRESHOLD = 0.5
NONE = "-"


@dataclass(frozen=True)
class Understanding:
    """What one message means, as far as the assistant can tell."""

    intent: str
    bundle: str | None
    confidence: float
    text: str  # normalized
    locale: str | None = None  # the language the text is written in, when it is clear
    rule: str | None = None  # the rule that decided, if one did
    intents: tuple[tuple[str, float], ...] = ()  # best candidates, most likely first
    bundles: tuple[tuple[str, float], ...] = ()  # lexicon scores, highest first
    application_id: str | None = None  # an application id quoted in the text

    @property
    def decided(self) -> bool:
        """A rule, not the classifier, decided the intent (a request for a person, a bare yes)."""
        return self.rule is not None and self.rule != NEGATED

    def as_dict(self) -> dict:
        return {"intent": self.intent, "bundle": self.bundle,
                "confidence": round(float(self.confidence), 3)}


@dataclass
class Lexicon:
    """How citizens name each bundle: weighted terms, matched longest first, without overlap."""

    terms: dict[str, dict[str, float]] = field(default_factory=dict)  # term → {bundle: weight}
    cues: dict[str, set[str]] = field(default_factory=dict)  # bundle → cue terms
    absorbs: dict[str, list[str]] = field(default_factory=dict)
    hints_only: set[str] = field(default_factory=set)  # terms that never decide alone

    def add(self, bundle: str, term: str, weight: float) -> None:
        term = normalize(term)
        if len(term) < 2 and not re.search(r"[\u4e00-\u9fff]", term):
            return
        if term in self.hints_only:
            weight = min(weight, WEIGHTS["weak"])
        current = self.terms.setdefault(term, {})
        current[bundle] = max(current.get(bundle, 0.0), weight)

    def compile(self) -> "Lexicon":
        # Plain substring search, longest terms first; an English term only as a whole word.
        # (No regular expression per term: the catalogue adds hundreds, and compiling them cost
        # more than all the searches of a conversation.)
        latin = sorted((t for t in self.terms if re.search(r"[a-z]", t)), key=len, reverse=True)
        other = sorted((t for t in self.terms if not re.search(r"[a-z]", t)), key=len,
                       reverse=True)
        self._ordered = sorted([(t, True) for t in latin] + [(t, False) for t in other],
                               key=lambda item: len(item[0]), reverse=True)
        self._cue_patterns = {
            bundle: re.compile("|".join(rf"(?<![a-z]){re.escape(normalize(c))}(?![a-z])"
                                        for c in sorted(cues, key=len, reverse=True)))
            for bundle, cues in self.cues.items() if cues}
        return self

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, term) matches, longer terms first."""
        taken = [False] * len(text)
        found = []
        for term, latin in self._ordered:
            start = text.find(term)
            while start >= 0:
                end = start + len(term)
                whole = not latin or (
                    (start == 0 or not "a" <= text[start - 1] <= "z") and
                    (end == len(text) or not "a" <= text[end] <= "z"))
                if whole and not any(taken[start:end]):
                    taken[start:end] = [True] * (end - start)
                    found.append((start, end, term))
                start = text.find(term, start + 1)
        return sorted(found)

    def scores(self, text: str, spans=None) -> dict[str, float]:
        scores: dict[str, float] = {}
        for _, _, term in (spans if spans is not None else self.spans(text)):
            for bundle, weight in self.terms[term].items():
                scores[bundle] = scores.get(bundle, 0.0) + weight
        for bundle, pattern in self._cue_patterns.items():
            if pattern.search(text):
                for absorbed in self.absorbs.get(bundle, []):
                    if absorbed in scores:
                        scores[bundle] = scores.get(bundle, 0.0) + scores.pop(absorbed)
        return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))

    @staticmethod
    def mask(text: str, spans) -> str:
        out, last = [], 0
        for start, end, _ in spans:
            out.append(text[last:start])
            out.append(f" {PLACEHOLDER} ")
            last = end
        out.append(text[last:])
        return re.sub(r"\s+", " ", "".join(out)).strip()


def _yaml(text: str):
    """Safe YAML, with libyaml when PyYAML has it (ten times faster than the pure loader)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506  # nosec B506


def load_examples(path: Path) -> list[tuple[str, str, str | None]]:
    """(text, intent, bundle) from a data file grouped by intent and bundle."""
    groups = _yaml(path.read_text(encoding="utf-8")) or []
    examples = []
    for group in groups:
        intent, bundle = group["intent"], group.get("bundle")
        if intent not in INTENTS or (bundle is not None and bundle not in BUNDLES):
            raise ValueError(f"{path.name}: unknown label {intent!r} / {bundle!r}")
        for text in group["texts"]:
            if not isinstance(text, str):  # YAML reads a bare yes/no as a boolean: quote it
                raise ValueError(f"{path.name}: {text!r} is not a string")
            examples.append((text, intent, bundle))
    return examples


def load_lexicon(extra_terms: dict[str, list[tuple[str, float]]] | None = None) -> Lexicon:
    """The lexicon of data/lexicon.yaml plus weighted terms from the catalogue."""
    raw = _yaml((DATA / "lexicon.yaml").read_text(encoding="utf-8"))
    lexicon = Lexicon(hints_only={normalize(str(t)) for t in raw.pop("hints_only", None) or []})
    for bundle, entry in raw.items():
        for strength, weight in WEIGHTS.items():
            for term in entry.get(strength) or []:
                lexicon.add(bundle, str(term), weight)
        lexicon.cues[bundle] = {str(c) for c in entry.get("cues") or []}
        lexicon.absorbs[bundle] = list(entry.get("absorbs") or [])
    for bundle, terms in (extra_terms or {}).items():
        for term, weight in terms:
            if term:
                lexicon.add(bundle, term, weight)
    return lexicon.compile()


MATTER_WEIGHT = 2.0  # a matter of one bundle only names that bundle, unless another is named too


def terms_from_catalogue(bundles: list[dict], matters: list[dict]) -> dict[str, list[tuple[str,
                                                                                          float]]]:
    """Weighted lexicon terms from catalogue documents: each bundle's names and synonyms, and
    the names and synonyms of matters that belong to that bundle only."""
    terms: dict[str, list[tuple[str, float]]] = {}
    owners: dict[str, set[str]] = {}
    for bundle in bundles:
        if bundle.get("retired"):
            continue
        names = list((bundle.get("name") or {}).values()) + list(bundle.get("synonyms") or [])
        terms.setdefault(bundle["code"], []).extend((str(n), WEIGHTS["strong"]) for n in names
                                                    if n)
        for step in bundle.get("steps") or []:
            owners.setdefault(step["matter"], set()).add(bundle["code"])
    for matter in matters:
        if len(owners.get(matter["code"], ())) == 1:
            (code,) = owners[matter["code"]]
            names = list((matter.get("name") or {}).values()) + list(matter.get("synonyms") or [])
            terms[code].extend((str(n), MATTER_WEIGHT) for n in names if n)
    return {code: sorted(set(items)) for code, items in sorted(terms.items())}


APPLICATION_ID = re.compile(r"\b[0-9a-f]{24}\b")


PINYIN = True  # train on the examples written in pinyin too
ANSWERS = True  # learn what answers a form question as a background class
ANSWER = "_answer"
UNKNOWN_WORDS = 0.5  # the confidence left to English made of words never seen


def load_answers() -> list[str]:
    """Texts that answer a form question (data/answers.yaml)."""
    texts = _yaml((DATA / "answers.yaml").read_text(encoding="utf-8")) or []
    return [str(t) for t in texts]


def _as_pinyin(text: str) -> str | None:
    """A normalized Chinese text as toneless pinyin syllables (training only: needs pypinyin);
    None for a text with Latin letters or no Chinese."""
    if not CJK_RUN.search(text) or re.search(r"[a-z]", text):
        return None
    from pypinyin import lazy_pinyin  # training only: a process that loads the model skips it

    return pinyin_form(" ".join(s for s in lazy_pinyin(text) if re.fullmatch(r"[a-z]+", s)))


class Understander:
    """Trained once per process from the repository's examples; pure and thread-safe after."""

    def __init__(self, examples: list[tuple[str, str, str | None]], lexicon: Lexicon,
                 features: tuple[str, ...] = FEATURES, bundle_features: tuple[str, ...] = FEATURES,
                 intent_c: float = 2.0, bundle_c: float = 1.0, pinyin: bool = PINYIN,
                 answers: bool = ANSWERS):
        self.lexicon = lexicon
        normalized = [normalize(text) for text, _, _ in examples]
        masked = [self.lexicon.mask(t, self._decisive(self.lexicon.spans(t))) for t in normalized]
        intents = [i for _, i, _ in examples]
        bundle_texts = normalized + [t for t in lexicon.terms]
        bundle_labels = [b or NONE for _, _, b in examples] + [
            max(w, key=w.get) for w in lexicon.terms.values()]
        if answers:  # what answers a form question: a class of its own, never returned
            plain = [normalize(t) for t in load_answers()]
            masked += [self.lexicon.mask(t, self._decisive(self.lexicon.spans(t))) for t in plain]
            intents += [ANSWER] * len(plain)
        if pinyin:  # the same examples as a citizen would type them in pinyin
            typed = [(_as_pinyin(t), i, b) for t, (_, i, b) in zip(normalized, examples,
                                                                     strict=True)]
            typed = [(t, i, b) for t, i, b in typed if t]
            terms = [(_as_pinyin(t), max(w, key=w.get)) for t, w in lexicon.terms.items()
                     if max(w.values()) >= WEIGHTS["medium"]]
            terms = [(t, b) for t, b in terms if t]
            masked += [t for t, _, _ in typed]
            intents += [i for _, i, _ in typed]
            bundle_texts += [t for t, _, _ in typed] + [t for t, _ in terms]
            bundle_labels += [b or NONE for _, _, b in typed] + [b for _, b in terms]
        self.intent_model = LinearScorer(_build_pipeline(intent_c, features).fit(masked, intents))
        self.bundle_model = LinearScorer(_build_pipeline(bundle_c, bundle_features).fit(
            bundle_texts, bundle_labels))

    def _decisive(self, spans):
        # Only mentions that name a bundle are masked; weak hints ("公司", "house") keep their
        # words, which also tell an out-of-scope question apart.
        return [s for s in spans if max(self.lexicon.terms[s[2]].values()) >= WEIGHTS["medium"]]

    def with_lexicon(self, lexicon: Lexicon) -> "Understander":
        clone = object.__new__(Understander)
        clone.__dict__.update(self.__dict__)
        clone.lexicon = lexicon
        return clone

    def _bundle(self, text: str, spans) -> tuple[str | None, tuple[tuple[str, float], ...]]:
        scores = self.lexicon.scores(text, spans)
        ranked = tuple(scores.items())
        if ranked and ranked[0][1] >= BUNDLE_THRESHOLD and (
                len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            return ranked[0][0], ranked
        by_model = _probabilities(self.bundle_model, text)
        if ranked and ranked[0][1] >= BUNDLE_THRESHOLD:
            # A tie in the lexicon: the model breaks it among the tied bundles only.
            tied = {b for b, s in ranked if s == ranked[0][1]}
            return next((b for b, _ in by_model if b in tied), ranked[0][0]), ranked
        guess, probability = by_model[0]
        if guess != NONE and probability >= BUNDLE_MODEL_THRESHOLD:
            return guess, ranked
        return None, ranked

    def understand(self, raw: str) -> Understanding:
        text = normalize(raw)
        pinyin = pinyin_form(text)
        text = pinyin or text  # "xinshenger" → "xin sheng er", as trained
        locale = detect_locale(raw)
        found_id = APPLICATION_ID.search(text)
        application_id = found_id.group(0) if found_id else None
        spans = self.lexicon.spans(text)
        bundle, bundles = self._bundle(text, spans)
        bare = PUNCT.sub(" ", text).strip()

        rule = _handoff_rule(text)
        if rule and rule != NEGATED:
            return Understanding("handoff_human", bundle, 1.0, text, locale, rule,
                                 (("handoff_human", 1.0),), bundles, application_id)
        for words, intent in ((CONFIRM_WORDS, "confirm"), (DENY_WORDS, "deny"),
                              (GREET_WORDS, "greet_thanks")):
            if bare in words or bare.replace(" ", "") in words:
                return Understanding(intent, None, 0.99, text, locale, "exact",
                                     ((intent, 0.99),), bundles, application_id)

        masked = self.lexicon.mask(text, self._decisive(spans))
        # What reads like an answer to a form question (a name, an address) keeps its share of
        # the probability: every intent is then unsure.
        ranked = [(i, p) for i, p in _probabilities(self.intent_model, masked) if i != ANSWER]
        if not self.intent_model.knows(masked):  # not one known character or word: no idea
            ranked = [("out_of_scope", 0.0)] + [(i, 0.0) for i, _ in ranked
                                                if i != "out_of_scope"]
        elif (not pinyin and not CJK_RUN.search(masked) and re.search(r"[a-z]", masked)
              and not self.intent_model.knows_a_word(masked)):
            # English of which not one word was seen: shared letters ("Han" ~ "thanks") are
            # little evidence, so no intent is more than half sure.
            ranked = [(i, p * UNKNOWN_WORDS) for i, p in ranked]
        if rule == NEGATED:  # "不用转人工": whatever else it is, not that
            ranked = [(i, p) for i, p in ranked if i != "handoff_human"]
            total = sum(p for _, p in ranked) or 1.0
            ranked = [(i, p / total) for i, p in ranked]
        intents = tuple(ranked[:3])
        intent, confidence = intents[0]
        if application_id and intent not in {"handoff_human", "deny"}:
            intent, confidence = "check_status", max(confidence, 0.9)
        if intent in NO_BUNDLE:  # a yes, a no, a hello or something else: about no bundle
            bundle = None
        return Understanding(intent, bundle, confidence, text, locale,
                             rule if rule == NEGATED else None, intents, bundles, application_id)
NO_BUNDLE = {"confirm", "deny", "greet_thanks", "out_of_scope"}


_lock = threading.Lock()


_extended: dict = {"terms": None, "understander": None}
