"""Understanding one message: its intent, the "one thing" it is about, and how sure we are.

Offline and deterministic: a linear classifier over character and word n-grams, trained at
start-up from assistant/data/training.yaml, plus a lexicon of how citizens name each bundle (with
the catalogue's own names and synonyms) and rules for the few things that must never be missed,
such as a request for a person.
"""
import hashlib
import json
import logging
import math
import os
import re
import sys
import threading
import zipfile
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.normalize import PINYIN_SYLLABLES, detect_locale, normalize, pinyin_form

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"

INTENTS = ("explore_bundle", "ask_materials", "check_status", "apply", "confirm", "deny", "faq",
           "greet_thanks", "handoff_human", "out_of_scope")
BUNDLES = ("newborn", "kindergarten_admission", "school_enrollment", "marriage_childbearing",
           "business_deregistration", "vehicle_registration", "farmhouse_construction",
           "small_shop_registration")
WEIGHTS = {"strong": 3.0, "medium": 2.0, "weak": 1.0}
BUNDLE_THRESHOLD = 2.0  # a lexicon score below this is a hint, not a decision
BUNDLE_MODEL_THRESHOLD = 0.5
PLACEHOLDER = "§"  # stands for a bundle mention, so intents are learned apart from bundles
NONE = "-"
# Softmax scale of the SVM's scores: 4 minimises the log-loss of 5-fold cross-validation on the
# training examples, so a confidence of 0.8 is right about 8 times in 10.
SCORE_SCALE = 4.0

# A request for a person is always honoured: these rules come before any classifier. They are
# matched on normalized text (simplified, lowercase, half-width). Every usual way to ask: a human
# agent (人工, 客服, 真人, 工作人员), whether anybody is there (有人吗, 人呢, anyone there), a
# complaint or someone in charge (投诉, 举报, 找领导), a call back (打电话给我, call me), and
# giving up on the machine (机器人听不懂, 不要自动回复).
HANDOFF_ZH = re.compile(
    # a human agent
    r"人工(?!智能|费|成本|授精|降雨|湖|草|合成|呼吸|流产|养殖|种植|岛|河)|客服|"
    r"(?<!是)(?<!不是)真人|活人|"
    r"(有|找|跟|和|同|联系|要|让|请|转|叫|派|换|接|给我|麻烦).{0,5}工作人员|"
    r"工作人员.{0,6}(联系我|打电话|回电|给我回|来处理|来帮|帮我|跟我说|和我说|在吗|在不在|在线)|"
    r"(找|要|跟|去).{0,4}(窗口|柜台)的?(人|工作)|"
    # is anybody there
    r"有人(吗|么|嘛|没|不|在(吗|么|嘛|不|没|线)|在不在|回复|理|管|能帮|可以帮|接)|有没有人|"
    r"^人呢|[,.!?，。！？\s]人呢|^人在哪|人都去哪|没人(理|管|回|接|处理|答)|"
    r"(来|叫|找|换|要)(一?个|位)(真|活)?人|(叫|找|换|要)(一?个|位).{0,4}的人(来|吧|过来|帮|$)|"
    r"找人(聊|说|谈|问|帮|处理|解答)|我要找人|市长热线|政务热线|服务热线|"
    r"(跟|和|同)(人|真人|活人)(说|讲|聊|谈|沟通)|找个(懂|明白)的?人|"
    # complaints and people in charge
    r"投诉|举报|(?<!\d)12345(?!\d)|信访|"
    r"(找|叫|要见|见|让|请|喊|要|转).{0,6}(领导|负责人|主任|局长|科长|处长|经理|主管|上级)|"
    r"(领导|负责人|主任|主管)(是谁|在哪|在吗|出来|电话)|"
    # a call
    r"打电话给我|给我(打|回|来)(个|一个|一下)?电话|(打|回|来)(个|一个)电话(过来|给我)|回个?电话|"
    r"回电|电话(联系|沟通|找我|打给我)|(请|麻烦|尽快|赶紧|马上|快)联系我|留个?电话|当面(说|谈|讲|沟通)|"
    # not the machine
    r"(不想|不要|不愿意?|别|拒绝)(再)?(跟|和|同)?(你|机器|机器人|ai|电脑|自动回复|人工智能)(说|聊|讲|对话|回复)?|"
    r"(机器人|机器|ai)(听不懂|太笨|好笨|没用|不行|答非所问|解决不了|回答不了)|"
    r"(别|不要)(再)?自动回复|听不懂人话|"
    r"接线员|坐席|座席|"
    r"zhuan ?ren ?gong|ren ?gong ?(ke ?fu|fu ?wu)?$|^ren ?gong|ke ?fu|you ?ren ?ma|tou ?su"
)
HANDOFF_EN = re.compile(
    r"\b(?:human(?!\s+(?:resources|papilloma\w*|rights|body|error|nature))|humans|"
    r"real person|real people|actual person|real human|live (?:agent|person|chat|support|help)|"
    r"(?:^|\b(?:an?|to|live|human|real|support|service|customer|your)\s)"
    r"(?:agent|operator|representative)s?\b(?!\s+(?:of|said|says|told))|"
    r"customer (?:service|support|care)|"
    r"support staff|staff member|member of staff|someone real|somebody real|"
    r"(?:speak|talk|chat)(?:ing)? (?:to|with) (?:an? |the |your |some )?(?:officer|staff|person|"
    r"people|someone|somebody|human|agent|representative|operator|real|actual|manager|"
    r"supervisor|boss|colleague)|"
    r"(?:get|give|find|connect|transfer|put|pass|send|escalate|forward) (?:me|this|it)"
    r"(?: through| on| over)? (?:to )?(?:an? |your |the )?(?:person|someone|somebody|officer|"
    r"staff|manager|supervisor|human|colleague|agent)|"
    r"(?:can|could|will) (?:a |some )?(?:person|human|someone|somebody|staff) help|"
    r"(?:any|some)(?:one|body) (?:i|we) can (?:talk|speak|chat)|"
    r"(?:a |the )?(?:person|human|someone|somebody) on the (?:phone|line)|"
    r"connect me (?:with|to)|put me through|"
    r"escalate|complaint|complain|complaining|"
    r"(?:call|phone|ring) me|give me a call|call ?back|person please|"
    r"(?:have|get|let) (?:someone|somebody|a person|staff|an officer|a human) "
    r"(?:contact|call|phone|ring|reach|help) me|(?:please|pls|someone|somebody) contact me|"
    r"contact me (?:please|asap|now|directly|by phone)|"
    r"(?:need|want|prefer) (?:a |an actual |a real )?(?:person|human|people)\b|"
    r"not (?:a |the )?(?:bot|robot|machine)|(?:any|some)(?:one|body) (?:there|here|around|"
    r"home|real|who can)|is (?:any|some)(?:one|body) (?:there|here|around|reading|listening)|"
    r"(?:bot|robot|machine|assistant) (?:is )?(?:useless|stupid|not helping|doesn't understand|"
    r"does not understand)|(?:your |a )(?:manager|supervisor|boss))\b"
)
HANDOFF_NEGATION_ZH = re.compile(r"(不用|不要|不需要|无需|没必要|别|不必|用不着|不是要|不想)(再)?"
                                 r"(转|找|接|叫|要|跟|和|联系|请|麻烦)?(个|一下)?(人工|真人|客服)?$")
HANDOFF_NEGATION_EN = re.compile(r"\b(no need (?:for|to)|don't need|do not need|dont need|"
                                 r"without)\W*(?:\w+\W+){0,3}$")

PUNCT = re.compile(r"[\s,.!?;:~'\"，。！？；：、…~～（）()\[\]【】]+")
CONFIRM_WORDS = {
    "是", "是的", "是啊", "对", "对的", "对呀", "好", "好的", "好啊", "好吧", "行", "行的", "可以",
    "确认", "确定", "提交", "没问题", "没错", "同意", "嗯", "嗯嗯", "恩", "好嘞", "ok",
    "okay", "yes", "yeah", "yep", "yup", "sure", "confirm", "submit", "correct", "right", "y",
    "go ahead", "yes please", "of course", "提交吧", "可以的", "ok提交", "对没错",
}
DENY_WORDS = {
    "不", "不是", "不要", "不用", "不用了", "不行", "不对", "取消", "算了", "不办了", "先不办",
    "别", "别了", "停", "no", "nope", "nah", "cancel", "stop", "n", "not now", "never mind",
    "nevermind", "forget it", "no thanks", "不了", "算了吧", "不需要",
}
GREET_WORDS = {
    "你好", "您好", "hi", "hello", "hey", "在吗", "在么", "哈喽", "嗨", "谢谢", "谢谢你", "多谢",
    "感谢", "thanks", "thank you", "再见", "拜拜", "bye", "goodbye", "早上好", "晚上好", "下午好",
    "good morning", "good evening", "good afternoon", "哈罗", "nihao", "ni hao", "xiexie",
    "xie xie", "xiexie ni",
}


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
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


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


def _word_tokens(text: str) -> list[str]:
    """English (and pinyin) words and the bundle placeholder."""
    return re.findall(r"[a-z]+|" + PLACEHOLDER, text)


CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


@lru_cache(maxsize=1)
def _jieba():
    import jieba  # optional: only the model comparison uses it (not in requirements.txt)

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _segmented_tokens(text: str) -> list[str]:
    """Chinese words (jieba, precise mode without guessing new words), English words and the
    placeholder, in order."""
    tokens = []
    for match in re.finditer(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z]+|" + PLACEHOLDER, text):
        part = match.group(0)
        if CJK_RUN.fullmatch(part):
            tokens.extend(_jieba().lcut(part, HMM=False))
        else:
            tokens.append(part)
    return tokens


# The feature blocks a classifier can combine (all TF-IDF with sublinear term frequency).
FEATURE_BLOCKS = {
    "chars": dict(analyzer="char_wb", ngram_range=(1, 3)),
    "chars4": dict(analyzer="char_wb", ngram_range=(1, 4)),
    "words": dict(analyzer="word", tokenizer=_word_tokens, token_pattern=None,
                  ngram_range=(1, 2)),
    "segmented": dict(analyzer="word", tokenizer=_segmented_tokens, token_pattern=None,
                      ngram_range=(1, 2)),
}
FEATURES = ("chars", "words")


def _build_pipeline(c: float, features: tuple[str, ...] = FEATURES):
    # Imported here: the classifier library is loaded by the first conversation, not at app start.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    union = FeatureUnion([(name, TfidfVectorizer(sublinear_tf=True, lowercase=False,
                                                 **FEATURE_BLOCKS[name]))
                          for name in features])
    # A linear SVM trains in milliseconds; the fixed seed makes its solver deterministic.
    return make_pipeline(union, LinearSVC(C=c, random_state=0))


_WHITE_SPACES = re.compile(r"\s\s+")


def _char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's "char_wb" analyzer, exactly: n-grams inside each word padded by spaces."""
    grams = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        word = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset:offset + n])
            while offset + n < len(word):
                offset += 1
                grams.append(word[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


def _word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """scikit-learn's word n-grams of a token list, exactly."""
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _analyzer(kind: str):
    """The analyzer of a feature block without scikit-learn (which then need not be imported)."""
    block = FEATURE_BLOCKS[kind]
    low, high = block["ngram_range"]
    if block["analyzer"] == "char_wb":
        return lambda text: _char_wb_ngrams(text, low, high)
    tokenizer = block["tokenizer"]
    return lambda text: _word_ngrams(tokenizer(text), low, high)


class LinearScorer:
    """The fitted pipeline's arithmetic without its per-call overhead (which costs more than the
    arithmetic on one short message): the same features, weights and scores, in microseconds,
    in plain Python: neither scikit-learn nor numpy is needed once it is fitted."""

    def __init__(self, pipeline):
        union, svm = pipeline.steps[0][1], pipeline.steps[-1][1]
        self.kinds = [name for name, _ in union.transformer_list]
        vocabularies = [sorted(v.vocabulary_, key=v.vocabulary_.get)
                        for _, v in union.transformer_list]
        self._set(vocabularies, [array("d", v.idf_.astype("<f8").tobytes())
                                 for _, v in union.transformer_list],
                  array("d", svm.coef_.T.astype("<f8").tobytes()),
                  [float(x) for x in svm.intercept_], [str(c) for c in svm.classes_])

    def _set(self, vocabularies, idfs, coef, intercept, classes) -> None:
        self.blocks = []
        offset = 0
        for kind, terms, idf in zip(self.kinds, vocabularies, idfs, strict=True):
            self.blocks.append((_analyzer(kind), {t: i for i, t in enumerate(terms)}, idf,
                                offset))
            offset += len(terms)
        self.coef = coef  # features × classes, row by row
        self.intercept = list(intercept)
        self.classes = list(classes)
        if len(coef) != offset * len(self.classes):
            raise ModelMismatch("the weights do not fit the features")

    def parts(self, prefix: str) -> tuple[dict, dict[str, bytes]]:
        """What to store: a description (JSON) and the weight arrays (little-endian float64)."""
        meta = {"kinds": self.kinds, "classes": self.classes, "intercept": self.intercept,
                "vocabularies": [sorted(v, key=v.get) for _, v, _, _ in self.blocks]}
        arrays = {f"{prefix}coef": _bytes(self.coef)}
        arrays.update({f"{prefix}idf{n}": _bytes(idf)
                       for n, (_, _, idf, _) in enumerate(self.blocks)})
        return meta, arrays

    @classmethod
    def from_parts(cls, meta: dict, arrays: dict[str, bytes], prefix: str) -> "LinearScorer":
        scorer = object.__new__(cls)
        scorer.kinds = list(meta["kinds"])
        scorer._set(meta["vocabularies"],
                    [_floats(arrays[f"{prefix}idf{n}"]) for n in range(len(scorer.kinds))],
                    _floats(arrays[f"{prefix}coef"]), meta["intercept"], meta["classes"])
        return scorer

    def knows_a_word(self, text: str) -> bool:
        """Whether any English word of the text was seen in training as a word (a word that is
        also a pinyin syllable, "han", may have been seen in pinyin only: it does not count)."""
        vocabularies = [v for kind, (_, v, _, _) in zip(self.kinds, self.blocks, strict=True)
                        if FEATURE_BLOCKS[kind].get("tokenizer") is _word_tokens]
        return any(word in v for v in vocabularies for word in _word_tokens(text)
                   if word != PLACEHOLDER and word not in PINYIN_SYLLABLES)

    def knows(self, text: str) -> bool:
        """Whether any feature of the text was seen in training."""
        return any(gram.strip() and gram in vocabulary
                   for analyze, vocabulary, _, _ in self.blocks for gram in analyze(text))

    def scores(self, text: str) -> list[float]:
        """The SVM's decision scores, one per class, as scikit-learn computes them."""
        width = len(self.classes)
        totals = list(self.intercept)
        coef = self.coef
        for analyze, vocabulary, idf, offset in self.blocks:
            counts: dict[int, int] = {}
            for gram in analyze(text):
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            weights = {i: (1.0 + math.log(c)) * idf[i] for i, c in counts.items()}  # sublinear tf
            norm = math.sqrt(sum(w * w for w in weights.values()))
            for i, w in weights.items():
                row, value = (offset + i) * width, w / norm
                for k in range(width):
                    totals[k] += value * coef[row + k]
        return totals


def _bytes(values: array) -> bytes:
    values = array("d", values)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def _floats(raw: bytes) -> array:
    values = array("d")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _probabilities(scorer: LinearScorer, text: str) -> list[tuple[str, float]]:
    """Scores turned into probabilities (softmax, scale fitted by cross-validation), best first."""
    scores = [s * SCORE_SCALE for s in scorer.scores(text)]
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    ranked = sorted(zip(scorer.classes, exps, strict=True), key=lambda kv: -kv[1])
    return [(label, value / total) for label, value in ranked]


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


NEGATED = "handoff_negated"
NO_BUNDLE = {"confirm", "deny", "greet_thanks", "out_of_scope"}


def _handoff_rule(text: str) -> str | None:
    """Which handoff rule the text meets; NEGATED when it only says no person is needed."""
    negated = False
    for pattern, negation, name in ((HANDOFF_ZH, HANDOFF_NEGATION_ZH, "handoff_zh"),
                                    (HANDOFF_EN, HANDOFF_NEGATION_EN, "handoff_en")):
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 30):match.start()]
            if not negation.search(before):
                return name
            negated = True
    return NEGATED if negated else None


_lock = threading.Lock()

# The trained model is stored once per version of its inputs and loaded by every later process in
# a few tens of milliseconds, without scikit-learn: `python -m assistant.nlu build` (run at
# install), or else the first process that needs it trains it (about a second) and stores it.
MODEL_FORMAT = 1
MODEL_DIR = Path(os.environ.get("ASSISTANT_MODEL_DIR") or
                 Path(__file__).resolve().parent.parent / "var" / "models")


KEEP_MODELS = 3


class ModelMismatch(ValueError):
    """A stored model that is not the one these inputs train, or that was altered."""


def _fingerprint() -> str:
    """What the trained model depends on: the examples, the lexicon, the code that reads and
    featurizes text and the training options (all in these files). A library upgrade alone does
    not call for another model: the stored one is plain weights over features computed here."""
    digest = hashlib.sha256(f"format {MODEL_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for path in (DATA / "training.yaml", DATA / "answers.yaml", DATA / "lexicon.yaml",
                 here / "nlu.py", here / "normalize.py"):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def model_path(fingerprint: str | None = None) -> Path:
    return MODEL_DIR / f"understanding-{(fingerprint or _fingerprint())[:16]}.zip"


def _checksum(meta: bytes, arrays: dict[str, bytes]) -> str:
    digest = hashlib.sha256(meta)
    for name in sorted(arrays):
        digest.update(b"\0" + name.encode() + b"\0" + arrays[name])
    return digest.hexdigest()


def save_model(model: "Understander", path: Path, fingerprint: str) -> None:
    """Stored atomically (another process never reads half a file), with its checksum: a zip of
    a JSON description and raw weight arrays (no pickles: loading runs no stored code)."""
    intent_meta, arrays = model.intent_model.parts("intent_")
    bundle_meta, bundle_arrays = model.bundle_model.parts("bundle_")
    arrays.update(bundle_arrays)
    meta = json.dumps({"format": MODEL_FORMAT, "fingerprint": fingerprint,
                       "intent": intent_meta, "bundle": bundle_meta},
                      ensure_ascii=False).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as out:
        out.writestr("model.json", meta)
        for name, raw in arrays.items():
            out.writestr(f"{name}.f8", raw)
        out.writestr("checksum", _checksum(meta, arrays))
    os.replace(partial, path)
    stored = sorted(path.parent.glob("understanding-*.zip"), key=lambda p: p.stat().st_mtime,
                    reverse=True)
    for stale in stored[KEEP_MODELS:]:  # models of older inputs: a few kept, for switching back
        stale.unlink(missing_ok=True)


def load_model(path: Path, lexicon: Lexicon, fingerprint: str) -> "Understander":
    """The stored model, verified: made from these very inputs, and unaltered."""
    with zipfile.ZipFile(path) as stored:
        meta = stored.read("model.json")
        arrays = {name[:-3]: stored.read(name) for name in stored.namelist()
                  if name.endswith(".f8")}
        checksum = stored.read("checksum").decode()
    if checksum != _checksum(meta, arrays):
        raise ModelMismatch(f"{path.name} is damaged or was altered")
    description = json.loads(meta)
    if description.get("fingerprint") != fingerprint:
        raise ModelMismatch(f"{path.name} was trained from other inputs")
    model = object.__new__(Understander)
    model.lexicon = lexicon
    model.intent_model = LinearScorer.from_parts(description["intent"], arrays, "intent_")
    model.bundle_model = LinearScorer.from_parts(description["bundle"], arrays, "bundle_")
    return model


def build(path: Path | None = None) -> tuple[Path, "Understander"]:
    """Train from the repository's examples and store the model."""
    fingerprint = _fingerprint()
    path = path or model_path(fingerprint)
    model = Understander(load_examples(DATA / "training.yaml"), load_lexicon())
    save_model(model, path, fingerprint)
    return path, model


@lru_cache(maxsize=1)
def _base_understander() -> Understander:
    fingerprint = _fingerprint()
    path = model_path(fingerprint)
    lexicon = load_lexicon()
    try:
        return load_model(path, lexicon, fingerprint)
    except FileNotFoundError:
        pass
    except (ModelMismatch, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("the stored understanding model is not used: %s", exc)
    model = Understander(load_examples(DATA / "training.yaml"), lexicon)
    try:
        save_model(model, path, fingerprint)
    except OSError as exc:  # a read-only deployment keeps it in memory only
        log.warning("the understanding model could not be stored: %s", exc)
    return model


_extended: dict = {"terms": None, "understander": None}


def understander(extra_terms: dict[str, list[tuple[str, float]]] | None = None) -> Understander:
    """The process's trained model, its lexicon extended with the catalogue's weighted terms
    (rebuilt, in milliseconds, when handed another set of terms)."""
    with _lock:
        base = _base_understander()
        if not extra_terms:
            return base
        if _extended["terms"] is not extra_terms and _extended["terms"] != extra_terms:
            _extended.update(terms=extra_terms,
                             understander=base.with_lexicon(load_lexicon(extra_terms)))
        return _extended["understander"]


def understand(text: str, extra_terms: dict[str, list[tuple[str, float]]] | None = None
               ) -> Understanding:
    return understander(extra_terms).understand(text)


if __name__ == "__main__":  # python -m assistant.nlu build
    import sys
    import time

    from assistant import nlu as _nlu  # the module itself, not this __main__ copy

    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m assistant.nlu build")
    started = time.perf_counter()
    stored, _ = _nlu.build()
    print(f"understanding model trained and stored in {time.perf_counter() - started:.2f} s: "
          f"{stored}")
