"""One conditional write by `_id` as the collection grows, two ways: `update_one` and
`find_one_and_update` (the database's findAndModify, which every task transition and many other
writes use for their post-image).

On a fresh embedded database (or MONGODB_URI), small documents, no secondary index: on the
embedded server findAndModify's time grows with the collection while update_one's does not,
which makes every claim and completion dearer with each application ever stored.

    .venv/bin/python -m bench.write_growth                 # 1,000 / 4,000 / 16,000 documents
    .venv/bin/python -m bench.write_growth --sizes 1000,10000 --padding 20000
"""
import argparse
import json
import sys
import time

import pymongo

from bench.processes import database_of_its_own

CHANGE = {"$inc": {"v": 1}}


def timed(call, repeat: int) -> float:
    begun = time.perf_counter()
    for _ in range(repeat):
        call()
    return round((time.perf_counter() - begun) / repeat * 1000, 2)


def run(sizes: list[int], padding: int, repeat: int) -> list[dict]:
    with database_of_its_own("onething_write_growth") as uri:
        collection = pymongo.MongoClient(uri).onething_write_growth.documents
        collection.drop()
        rows, have = [], 0
        for size in sizes:
            collection.insert_many([{"n": n, "pad": "x" * padding} for n in range(have, size)])
            have = size
            probe = {"_id": collection.find_one({"n": size // 2})["_id"]}
            rows.append({"documents": size, "update_one_ms": timed(
                lambda probe=probe: collection.update_one(probe, CHANGE), repeat),
                "find_one_and_update_ms": timed(
                lambda probe=probe: collection.find_one_and_update(probe, CHANGE), repeat)})
        collection.drop()
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000")
    parser.add_argument("--padding", type=int, default=100, help="bytes of filler per document")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(sorted(int(s) for s in args.sizes.split(",")), args.padding, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'documents':>10}  {'update_one ms':>14}  {'find_one_and_update ms':>22}")
        for row in rows:
            print(f"{row['documents']:>10,}  {row['update_one_ms']:>14}  "
                  f"{row['find_one_and_update_ms']:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
