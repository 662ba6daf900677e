"""Compare alternative understanding models on what generalises: k-fold cross-validation on the
training examples, the older evaluation set (data/eval.yaml) and the held-out set
(eval/utterances.yaml), side by side.

    .venv/bin/python -m assistant.eval.compare_models [--k 5] [--only NAME ...]

Choose by the cross-validated and older-set figures; the held-out figures are reported, not
tuned on.
"""
import argparse
import time
from importlib.util import find_spec

from assistant import nlu
from assistant.eval import measure

ALTERNATIVES = {
    "char 1-3 + latin words, no pinyin": dict(features=("chars", "words"),
                                              bundle_features=("chars", "words"), pinyin=False),
    "char 1-3 + latin words (SVM)": dict(features=("chars", "words"),
                                         bundle_features=("chars", "words")),
    "char 1-3 + latin words, no answers": dict(features=("chars", "words"),
                                               bundle_features=("chars", "words"),
                                               answers=False),
    "char 1-3 + latin words, C=0.5": dict(features=("chars", "words"),
                                          bundle_features=("chars", "words"), intent_c=0.5),
    "char 1-3 + latin words, C=1": dict(features=("chars", "words"),
                                        bundle_features=("chars", "words"), intent_c=1.0),
    "char 1-4 + latin words (SVM)": dict(features=("chars4", "words"),
                                         bundle_features=("chars4", "words")),
    "jieba words + latin words (SVM)": dict(features=("segmented",),
                                            bundle_features=("segmented",)),
    "char 1-3 + jieba words (SVM)": dict(features=("chars", "segmented"),
                                         bundle_features=("chars", "segmented")),
    "char 1-3 + jieba, bundle char": dict(features=("chars", "segmented"),
                                          bundle_features=("chars", "words")),
}


def _has(module: str) -> bool:
    return find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    training = nlu.load_examples(nlu.DATA / "training.yaml")
    older = nlu.load_examples(nlu.DATA / "eval.yaml")
    held_out = nlu.load_examples(measure.HELD_OUT)
    terms = measure.catalogue_terms()
    print(f"training {len(training)}, older set {len(older)}, held-out {len(held_out)}")
    header = (f"{'alternative':34} {'cv int':>6} {'cv bun':>6} {'old int':>7} {'old bun':>7} "
              f"{'ho int':>6} {'ho bun':>6} {'ho hand':>7} {'p95ms':>6} {'train s':>7}")
    print(header)
    for name, options in ALTERNATIVES.items():
        if args.only and not any(o in name for o in args.only):
            continue
        if "segmented" in options.get("features", ()) and not _has("jieba"):
            print(f"{name:34} skipped: needs jieba (pip install jieba==0.42.1, development only)")
            continue
        cv = measure.cross_validate(training, k=args.k, terms=terms, **options)
        started = time.perf_counter()
        model = measure.train(training, terms, **options)
        seconds = time.perf_counter() - started
        old = measure.scores(older, model)
        new = measure.scores(held_out, model)
        print(f"{name:34} {cv['intent accuracy']:6.3f} {cv['bundle accuracy']:6.3f} "
              f"{old['intent accuracy']:7.3f} {old['bundle accuracy']:7.3f} "
              f"{new['intent accuracy']:6.3f} {new['bundle accuracy']:6.3f} "
              f"{new['handoff recall']:7.3f} {new['p95 ms']:6.2f} {seconds:7.2f}", flush=True)


if __name__ == "__main__":
    main()
