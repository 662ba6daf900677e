"""Play multi-turn conversations through the assistant and report how many reach their goal.

    python scripts/run_conversations.py [FILE ...] [--only C01,C04] [--verbose]

The conversations run through the real service on a fresh embedded database with the seeded
catalogue; the file format is described in assistant/eval/runner.py. Exits 1 when a target is
missed: >= 90 % of conversations reach their goal fully, <= 5 % of turns wrong or unhelpful.
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402 (after the path is set)
from assistant import conversations  # noqa: E402 (after the path is set)
from assistant.eval import runner  # noqa: E402 (after the path is set)
from common.embedded_db import EmbeddedDatabase  # noqa: E402 (after the path is set)
from services.catalogue import seed as catalogue_seed  # noqa: E402 (after the path is set)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="conversation files (format 1)")
    parser.add_argument("--only", help="comma-separated conversation ids")
    parser.add_argument("--verbose", action="store_true", help="every turn of every conversation")
    args = parser.parse_args()


    server = EmbeddedDatabase(":memory:")
    server.start()
    try:
        os.environ["MONGODB_URI"] = server.uri

        app = create_app("test")
        with app.app_context():
            catalogue_seed.load_catalogue()
            conversations.warm_up()
            only = set(args.only.split(",")) if args.only else None
            ok = True
            for path in args.files or [runner.default_file()]:
                print(f"== {path}")
                report = runner.run_file(path, only)
                print("\n".join(report.lines(verbose=args.verbose)))
                ok = ok and report.meets_targets
            return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
