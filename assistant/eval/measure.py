"""Measuring the understanding: accuracy on a labelled set, and k-fold cross-validation on the
training examples (so that a model that only learned its own examples shows it).

Used by scripts/eval_assistant.py and assistant/eval/compare_models.py.
"""
import hashlib
import time
from collections import Counter, defaultdict
from pathlib import Path

from assistant import nlu
from services.catalogue import seed as catalogue_seed

EVAL = Path(__file__).resolve().parent
HELD_OUT = EVAL / "utterances.yaml"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def catalogue_terms() -> dict:
    """The catalogue's weighted lexicon terms, read from its files (as the app reads them)."""

    catalogue = catalogue_seed.read_catalogue()
    return nlu.terms_from_catalogue(catalogue["bundles"], catalogue["matters"])


def train(examples, terms=None, **options) -> "nlu.Understander":
    """An understander trained as the app trains it: on the examples and the base lexicon, then
    given the catalogue's terms."""
    model = nlu.Understander(examples, nlu.load_lexicon(), **options)
    return model.with_lexicon(nlu.load_lexicon(terms)) if terms else model


def scores(examples, understander) -> dict:
    """Intent and bundle accuracy, handoff recall, per-intent counts, confusions, misses and the
    time of each understanding call (ms)."""
    intents = bundles = handoffs = handoffs_found = 0
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter = Counter()
    misses, timings = [], []
    for text, intent, bundle in examples:
        started = time.perf_counter()
        result = understander.understand(text)
        timings.append((time.perf_counter() - started) * 1000)
        intents += result.intent == intent
        bundles += result.bundle == bundle
        per_intent[intent][0] += result.intent == intent
        per_intent[intent][1] += 1
        confusion[(intent, result.intent)] += 1
        if intent == "handoff_human":
            handoffs += 1
            handoffs_found += result.intent == "handoff_human"
        if result.intent != intent or result.bundle != bundle:
            misses.append((text, intent, bundle, result))
    n = len(examples) or 1
    return {"intent accuracy": intents / n, "bundle accuracy": bundles / n,
            "handoff recall": handoffs_found / handoffs if handoffs else 1.0,
            "handoff false alarms": sum(v for (g, p), v in confusion.items()
                                        if p == "handoff_human" and g != "handoff_human"),
            "per_intent": dict(per_intent), "confusion": confusion, "misses": misses,
            "timings": timings, "p95 ms": percentile(timings, 95) if timings else 0.0}


def folds(examples, k: int, seed: int = 0) -> list[list[int]]:
    """k folds, each example's fold fixed by a hash of its text (and the seed): adding examples
    moves no other example to another fold, so figures before and after compare."""
    assigned: list[list[int]] = [[] for _ in range(k)]
    for index, (text, _, _) in enumerate(examples):
        digest = hashlib.sha256(f"{seed}\0{text}".encode()).digest()
        assigned[int.from_bytes(digest[:4], "big") % k].append(index)
    return assigned


def cross_validate(examples, k: int = 5, seeds=(0, 1), terms=None, **options) -> dict:
    """k-fold cross-validated intent and bundle accuracy and handoff recall on the examples,
    averaged over repetitions with other fold assignments (seeds)."""
    totals = Counter()
    handoffs = found = 0
    for seed in seeds:
        for fold in folds(examples, k, seed):
            held = set(fold)
            model = train([e for i, e in enumerate(examples) if i not in held], terms, **options)
            part = [examples[i] for i in fold]
            result = scores(part, model)
            totals["intent"] += result["intent accuracy"] * len(part)
            totals["bundle"] += result["bundle accuracy"] * len(part)
            n_handoff = sum(1 for _, intent, _ in part if intent == "handoff_human")
            handoffs += n_handoff
            found += round(result["handoff recall"] * n_handoff)
    n = len(examples) * len(seeds)
    return {"intent accuracy": totals["intent"] / n, "bundle accuracy": totals["bundle"] / n,
            "handoff recall": found / handoffs if handoffs else 1.0, "k": k,
            "repetitions": len(seeds)}
