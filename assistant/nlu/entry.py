"""Understanding a message with the process's model, loaded (or built) once."""
import logging
import zipfile
from functools import lru_cache

from assistant.nlu.features import ModelMismatch
from assistant.nlu.model_store import _fingerprint, load_model, model_path, save_model
from assistant.nlu.understanding import (
    DATA,
    Understander,
    Understanding,
    _extended,
    _lock,
    load_examples,
    load_lexicon,
)

log = logging.getLogger(__name__)


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
