"""`make fuzz`: thousands of generated requests against every operation, as every role.

FUZZ_EXAMPLES (cases per operation for the roles it opens to), FUZZ_CHAINS (state machine runs)
and FUZZ_STEPS (calls per chain) size the run; the defaults give about 8,000 cases in about ten
minutes on two cores. Exits 1 when any case got a 5xx, broke its documented schema or answered a
status its operation does not document.
"""
import os
import sys

from common.embedded_db import EmbeddedDatabase
from tests.contract import generated_requests


def main() -> int:
    server = EmbeddedDatabase(":memory:")
    server.start()
    try:
        os.environ["MONGODB_URI"] = server.uri
        # Imported once the database is chosen: the app connects as it is built.
        from api import create_app
        tally = generated_requests.run(
            create_app("test"), examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
            stateful_examples=int(os.environ.get("FUZZ_CHAINS", "100")),
            steps=int(os.environ.get("FUZZ_STEPS", "10")),
            deterministic=os.environ.get("FUZZ_DETERMINISTIC") == "1", progress=True)
        print(tally.report(), flush=True)
    finally:
        server.stop()
    return 1 if any(tally.counts.values()) else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Done and reported: leave at once. After long runs the interpreter was seen waiting at exit
    # on the app's background threads (token revocations, the driver's monitors) whose database
    # is gone; nothing is left to write.
    os._exit(code)
