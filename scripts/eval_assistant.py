"""Measure the assistant's understanding on what it was not trained on.

    python scripts/eval_assistant.py [--misses] [--no-turns] [--k 5]

On the held-out set (assistant/eval/utterances.yaml, written as citizens type) and the older
evaluation set (assistant/data/eval.yaml): intent and bundle accuracy, accuracy per intent, the
confusion matrix, handoff recall, the misses, and the latency of one understanding call; beside
them, k-fold cross-validated figures on the training examples (a model that only learned its own
examples shows it as a gap between these and the held-out figures). Also the time a new process
takes to its first understanding (loading the stored model) and, unless --no-turns, the latency
of whole turns through the service and a database.

Exits 1 when a target is missed. Checks first that no evaluation text is also a training text.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402 (after the path is set)
from assistant import conversations as assistant  # noqa: E402 (after the path is set)
from assistant import nlu  # noqa: E402 (after the path is set)
from assistant.eval import measure  # noqa: E402 (after the path is set)
from assistant.normalize import normalize  # noqa: E402 (after the path is set)
from common.embedded_db import EmbeddedDatabase  # noqa: E402 (after the path is set)
from models.user import User  # noqa: E402 (after the path is set)
from services.catalogue import seed as catalogue_seed  # noqa: E402 (after the path is set)
from services.identity.tokens import Principal  # noqa: E402 (after the path is set)

# name → (set, measure, target, at least (True) or below (False))
TARGETS = [
    ("held-out", "intent accuracy", 0.93, True),
    ("held-out", "bundle accuracy", 0.96, True),
    ("held-out", "handoff recall", 1.0, True),
    ("held-out", "p95 ms", 50.0, False),
    ("older set", "intent accuracy", 0.90, True),
    ("older set", "bundle accuracy", 0.95, True),
    ("older set", "handoff recall", 1.0, True),
]
FIRST_CALL_TARGET_MS = 300.0
TURN_TARGET_MS = 50.0
SHORT = {"explore_bundle": "explore", "ask_materials": "material", "check_status": "status",
         "apply": "apply", "confirm": "confirm", "deny": "deny", "faq": "faq",
         "greet_thanks": "greet", "handoff_human": "handoff", "out_of_scope": "oos"}


def trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(max(1, len(text) - 2))}


def overlap_report(training, evaluation) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Eval texts that are also training texts, and near-duplicates (trigram Jaccard ≥ .8)."""

    train = {normalize(t): t for t, _, _ in training}
    exact = [t for t, _, _ in evaluation if normalize(t) in train]
    grams = [(t, trigrams(n)) for n, t in train.items()]
    near = []
    for text, _, _ in evaluation:
        mine = trigrams(normalize(text))
        best = max(((len(mine & g) / len(mine | g), t) for t, g in grams), default=(0.0, ""))
        if 0.8 <= best[0] < 1.0:
            near.append((text, best[1], best[0]))
    return exact, near


def confusion_table(confusion, intents) -> str:
    width = max(len(SHORT[i]) for i in intents) + 1
    lines = [" " * (width + 1) + "".join(f"{SHORT[p]:>{width}}" for p in intents)
             + "   ← understood as"]
    for gold in intents:
        cells = "".join(f"{(confusion.get((gold, p)) or '.'):>{width}}" for p in intents)
        lines.append(f"{SHORT[gold]:>{width}} {cells}")
    return "\n".join(lines)


def report(name: str, result: dict, intents, show_misses: bool) -> None:
    print(f"\n== {name}: {sum(v[1] for v in result['per_intent'].values())} utterances")
    print(f"intent accuracy {result['intent accuracy']:.3f}   bundle accuracy "
          f"{result['bundle accuracy']:.3f}   handoff recall {result['handoff recall']:.3f}   "
          f"handoff false alarms {result['handoff false alarms']}")
    print("per intent: " + ", ".join(
        f"{SHORT[i]} {result['per_intent'][i][0]}/{result['per_intent'][i][1]}"
        for i in intents if i in result["per_intent"]))
    print(confusion_table(result["confusion"], intents))
    timings = result["timings"]
    print(f"understanding latency: p50 {statistics.median(timings):.2f} ms, "
          f"p95 {result['p95 ms']:.2f} ms, max {max(timings):.2f} ms")
    misses = result["misses"]
    print(f"misses ({len(misses)}):" if show_misses else
          f"misses: {len(misses)} (--misses lists them)")
    if show_misses:
        for text, intent, bundle, got in misses:
            print(f"  {text!r}: expected {intent}/{bundle}, got {got.intent}/{got.bundle} "
                  f"({got.confidence:.2f})")


def first_call_ms() -> tuple[float, float, str]:
    """A new process: import the understanding, load the stored model, understand one message.
    The wall time, and the processor time (what the process itself spent, which other programs
    on a busy machine do not inflate); the best of three runs."""
    script = ("import time; t = time.perf_counter(); c = time.process_time(); "
              "from assistant import nlu; nlu.understand('宝宝出生了要办什么'); "
              "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, "
              "nlu.model_path().name)")
    walls, cpus = [], []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        wall, cpu, name = out.stdout.split()
        walls.append(float(wall))
        cpus.append(float(cpu))
    return min(walls), min(cpus), name


def turn_timings(evaluation) -> list[float]:
    """Each evaluation text as the first message of a conversation, through the service and a
    real (embedded) database with the seeded catalogue: what a citizen waits for."""

    server = EmbeddedDatabase(":memory:")
    server.start()
    try:
        os.environ["MONGODB_URI"] = server.uri
        # As served: predicted handling times are reused for a while (tests turn that off).
        os.environ.setdefault("ETA_CACHE_SECONDS", "300")

        app = create_app("test")
        with app.app_context():
            catalogue_seed.load_catalogue()
            citizen = User(role="citizen", name="Eval", locale="zh-CN").save()
            assistant.warm_up()
            who = Principal(id=str(citizen.id), role="citizen")  # as the API passes it
            assistant.post_message(citizen=who, text="你好")  # first-use costs
            timings = []
            for text, _, _ in evaluation:
                started = time.perf_counter()
                assistant.post_message(citizen=who, text=text)
                timings.append((time.perf_counter() - started) * 1000)
            return timings
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--no-turns", action="store_true",
                        help="skip the whole-turn latency (needs no database)")
    parser.add_argument("--k", type=int, default=5, help="folds of the cross-validation")
    args = parser.parse_args()


    training = nlu.load_examples(nlu.DATA / "training.yaml")
    sets = {"held-out": nlu.load_examples(measure.HELD_OUT),
            "older set": nlu.load_examples(nlu.DATA / "eval.yaml")}
    failures = []
    print(f"training examples: {len(training)}; " + "; ".join(
        f"{name}: {len(examples)}" for name, examples in sets.items()))
    for name, examples in sets.items():
        exact, near = overlap_report(training, examples)
        print(f"{name}: texts also in training {len(exact)}{' ' + str(exact) if exact else ''}; "
              f"near-duplicates (trigram Jaccard >= 0.8) {len(near)}")
        for text, similar, score in near:
            print(f"    {text!r} ~ {similar!r} ({score:.2f})")
        if exact:
            failures.append(f"{name} shares {len(exact)} texts with the training examples")

    # The stored model, as a new process finds it (built now if there is none).
    started = time.perf_counter()
    path = nlu.model_path()
    if not path.exists():
        nlu.build(path)
        print(f"\nmodel trained and stored in {time.perf_counter() - started:.2f} s: {path}")
    wall, cpu, name = first_call_ms()
    mark = "ok" if cpu < FIRST_CALL_TARGET_MS else "MISSED"
    print(f"\nfirst understanding in a new process (import, load {name}, one message): "
          f"{cpu:.0f} ms of processor time, {wall:.0f} ms wall   (target < "
          f"{FIRST_CALL_TARGET_MS:.0f} ms of processor time: {mark})")
    if cpu >= FIRST_CALL_TARGET_MS:
        failures.append(f"first understanding {cpu:.0f} ms")
    started = time.perf_counter()
    trained = nlu.Understander(training, nlu.load_lexicon())
    print(f"training from the examples (what a process without the stored model pays): "
          f"{time.perf_counter() - started:.2f} s")

    terms = measure.catalogue_terms()
    understander = nlu.understander(terms)
    assert understander.intent_model.classes == trained.intent_model.classes
    intents = [i for i in nlu.INTENTS]
    results = {}
    for name, examples in sets.items():
        results[name] = measure.scores(examples, understander)
        report(name, results[name], intents, args.misses)

    started = time.perf_counter()
    cv = measure.cross_validate(training, k=args.k, terms=terms)
    print(f"\n== {args.k}-fold cross-validation on the training examples ({len(training)}, "
          f"{time.perf_counter() - started:.1f} s): intent accuracy {cv['intent accuracy']:.3f}, "
          f"bundle accuracy {cv['bundle accuracy']:.3f}, handoff recall "
          f"{cv['handoff recall']:.3f}")
    gap = cv["intent accuracy"] - results["held-out"]["intent accuracy"]
    print(f"   cross-validated minus held-out intent accuracy: {gap:+.3f} "
          "(a large positive gap: the model learned its examples, not the citizens)")

    print("\n== targets")
    for name, measure_name, target, at_least in TARGETS:
        value = results[name][measure_name]
        ok = value >= target if at_least else value < target
        print(f"{name:9} {measure_name:16} {value:7.3f}   (target {'>=' if at_least else '<'} "
              f"{target:g}: {'ok' if ok else 'MISSED'})")
        if not ok:
            failures.append(f"{name} {measure_name} {value:.3f}")
    if not args.no_turns:
        turns = turn_timings(sets["held-out"])
        p95 = measure.percentile(turns, 95)
        # Reported, not a target of this script: on a machine shared with other work, wall
        # times of whole turns (database included) stall at random.
        print(f"one turn (service + database), held-out texts: p50 {statistics.median(turns):.1f}"
              f" ms, p95 {p95:.1f} ms   (reported; the service's goal is < "
              f"{TURN_TARGET_MS:.0f} ms; load average {os.getloadavg()[0]:.1f})")
    if failures:
        print("\nMISSED: " + "; ".join(failures))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
