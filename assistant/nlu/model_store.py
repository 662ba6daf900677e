"""The trained model on disk: built once, checked by a fingerprint of its inputs, loaded fast."""
import hashlib
import json
import os
import threading
import zipfile
from pathlib import Path

from assistant.nlu.features import LinearScorer, ModelMismatch
from assistant.nlu.understanding import DATA, Lexicon, Understander, load_examples, load_lexicon

# The trained model is stored once per version of its inputs and loaded by every later process in
# a few tens of milliseconds, without scikit-learn: `python -m assistant.nlu build` (run at
# install), or else the first process that needs it trains it (about a second) and stores it.
MODEL_FORMAT = 1
MODEL_DIR = Path(os.environ.get("ASSISTANT_MODEL_DIR") or
                 Path(__file__).resolve().parents[2] / "var" / "models")


KEEP_MODELS = 3


def _fingerprint() -> str:
    """What the trained model depends on: the examples, the lexicon, the code that reads and
    featurizes text and the training options (all in these files). A library upgrade alone does
    not call for another model: the stored one is plain weights over features computed here."""
    digest = hashlib.sha256(f"format {MODEL_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for path in (DATA / "training.yaml", DATA / "answers.yaml", DATA / "lexicon.yaml",
                 *sorted(here.glob("*.py")), here.parent / "normalize.py"):
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
