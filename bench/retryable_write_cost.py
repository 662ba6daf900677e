"""The embedded server's CPU per write as its retryable-write records pile up: it keeps one per
retryable write for 30 minutes, up to 10,000, and walks them all at every retryable write (and
sorts them once at the cap). Production's clients write retryably (models.connection, durable),
so do the baseline's (pymongo's default); not retryable, for comparison.

    .venv/bin/python -m bench.retryable_write_cost [--steps 1000,5000,9500,10500,12000]
"""
import argparse
import tempfile
from pathlib import Path

import pymongo

from bench.processes import server_ns
from common.embedded_db import EmbeddedDatabase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,5000,9500,10500,12000")
    steps = [int(n) for n in parser.parse_args().steps.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedDatabase(Path(folder) / "db")  # on disk, fsynced, as the bench's
        server.start()
        try:
            for retryable in (False, True):
                with pymongo.MongoClient(server.uri, retryWrites=retryable) as client:
                    collection, done = client.bench[f"retryable_{retryable}"], 0
                    for upto in steps:
                        began = server_ns(server.process.pid)
                        for n in range(done, upto):
                            collection.insert_one({"n": n})
                        spent = (server_ns(server.process.pid) - began) / 1e6 / (upto - done)
                        print(f"retryWrites={retryable}: writes {done:,}–{upto:,}: database "
                              f"{spent:.2f} ms CPU per insert", flush=True)
                        done = upto
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
