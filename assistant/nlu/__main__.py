"""`python -m assistant.nlu build`: train the understanding model and store it for every process."""
import sys
import time

from assistant.nlu.model_store import build

if sys.argv[1:] != ["build"]:
    sys.exit("usage: python -m assistant.nlu build")
started = time.perf_counter()
stored, _ = build()
print(f"understanding model trained and stored in {time.perf_counter() - started:.2f} s: {stored}")
