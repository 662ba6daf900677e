"""What the classifier sees: character and word n-grams; a linear scorer needing no scikit-learn."""
import logging
import math
import re
import sys
from array import array
from functools import lru_cache

from assistant.normalize import PINYIN_SYLLABLES

PLACEHOLDER = "§"  # stands for a bundle mention, so intents are learned apart from bundles
# Softmax scale of the SVM's scores: 4 minimises the log-loss of 5-fold cross-validation on the
# training examples, so a confidence of 0.8 is right about 8 times in 10.
SCORE_SCALE = 4.0


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


class ModelMismatch(ValueError):
    """A stored model that is not the one these inputs train, or that was altered."""
