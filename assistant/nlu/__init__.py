"""Understanding one message: its intent, the "one thing" it is about, and how sure we are.

The rules come first (rules.py: a request for a person is never left to a classifier), then a
linear classifier over character and word n-grams (features.py) trained on data/training.yaml,
stored and loaded by model_store.py. This package's names are the ones the rest of the
assistant uses.
"""
from assistant.nlu.entry import _base_understander, understand, understander
from assistant.nlu.features import (
    FEATURE_BLOCKS,
    LinearScorer,
    ModelMismatch,
    _analyzer,
    _build_pipeline,
    _char_wb_ngrams,
)
from assistant.nlu.model_store import MODEL_DIR, _fingerprint, build, load_model, model_path
from assistant.nlu.rules import NEGATED, _handoff_rule
from assistant.nlu.understanding import (
    BUNDLES,
    DATA,
    INTENTS,
    Lexicon,
    Understander,
    Understanding,
    load_examples,
    load_lexicon,
    terms_from_catalogue,
)

__all__ = [
    "BUNDLES", "DATA", "FEATURE_BLOCKS", "INTENTS", "MODEL_DIR", "NEGATED", "LinearScorer",
    "Lexicon", "ModelMismatch", "Understander", "Understanding", "_analyzer",
    "_base_understander", "_build_pipeline", "_char_wb_ngrams", "_fingerprint",
    "_handoff_rule", "build", "load_examples", "load_lexicon", "load_model", "model_path",
    "terms_from_catalogue", "understand", "understander",
]
