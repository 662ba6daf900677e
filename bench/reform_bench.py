"""The reform figures' read at two sizes of history: it must cost the same at both.

On a fresh embedded database (or MONGODB_URI): first the real roll-up (`flask loop sweep`) counts
a sample of finished applications, for its rate on this machine; then, for each size, a history
of N finished applications spread over a year, eight bundles and three regions is counted with
the roll-up's own arithmetic (`rollup.deltas`, `figures.add_once`) in one batch, without storing
the applications themselves (a million would take the embedded server hours to insert, and the
read never looks at them), and `GET /api/v1/stats/reform` is read through the whole Flask stack:
    .venv/bin/python -m bench.reform_bench                    # 1,000 and 1,000,000 applications
    .venv/bin/python -m bench.reform_bench --sizes 1000,100000 --json

It prints figures (database commands and buckets per read, latency, roll-up rate); it asserts
nothing (timing belongs here, not in tests).
"""
import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

from api import create_app
from bench.processes import database_of_its_own
from models import figures
from models.application import Application, FollowUp
from models.figures import FigureBucket
from services.catalogue import publishing
from services.catalogue import seed as catalogue_seed
from services.stats import reform, rollup

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BUNDLES = ("newborn", "kindergarten_admission", "school_enrollment", "marriage_childbearing",
           "business_deregistration", "vehicle_registration", "farmhouse_construction",
           "small_shop_registration")
REGIONS = ("330381", "330102", "330302")
CHUNK = 5000


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def history(count: int, rng: random.Random, now: datetime, versions: dict[str, int]):
    """`count` finished applications as the workflow leaves them."""
    for _ in range(count):
        created = now - timedelta(minutes=rng.randint(60, 365 * 24 * 60))
        bundle = rng.choice(BUNDLES)
        rejected = rng.random() < 0.03
        done = created + timedelta(minutes=rng.lognormvariate(3.6, 0.5))
        events = [{"type": "supplement_requested", "at": created}] if rng.random() < .05 else []
        events.append({"type": "application_rejected" if rejected else "application_completed",
                       "at": done})
        yield {"_id": ObjectId(), "applicant": "bench", "bundle": bundle,
               "bundle_version": versions[bundle], "region": rng.choice(REGIONS),
               "status": "rejected" if rejected else "completed", "created_at": created,
               "updated_at": done, "completed_at": None if rejected else done,
               "events": events, "tasks": [], "outbox": [], "outbox_pending": False,
               "follow_ups": [FollowUp.FIGURES_SUBMITTED.value, FollowUp.FIGURES_FINISHED.value]}


def rollup_rate(sample: int, rng: random.Random, now: datetime, versions: dict) -> dict:
    """The real roll-up over `sample` stored applications: applications counted a second."""
    collection = Application._get_collection()
    collection.insert_many(list(history(sample, rng, now, versions)), ordered=False)
    started = time.perf_counter()
    while rollup.roll_up(limit=CHUNK):
        pass
    elapsed = time.perf_counter() - started
    collection.delete_many({"applicant": "bench"})
    return {"applications": sample, "seconds": round(elapsed, 1),
            "per_second": round(sample / max(elapsed, 1e-9), 1)}


def count_history(count: int, rng: random.Random, now: datetime, versions: dict) -> float:
    """Count a history into fresh buckets with the roll-up's arithmetic, in one batch."""
    FigureBucket.objects.delete()
    started = time.perf_counter()
    merged: dict[tuple, figures.Delta] = {}
    for row in history(count, rng, now, versions):
        for tag in rollup.TAGS:
            for delta in rollup.deltas(row, tag):
                key = (delta.kind, delta.day, tuple(sorted(delta.dims.items())))
                into = merged.setdefault(key, figures.Delta(delta.kind, delta.day, delta.dims))
                for name, n in delta.counts.items():
                    into.counts[name] = into.counts.get(name, 0) + n
                for name, n in delta.histogram.items():
                    into.histogram[name] = into.histogram.get(name, 0) + n
    figures.add_once(f"bench:{count}", merged.values())
    return time.perf_counter() - started


READS = {
    "all bundles, all time": {},
    "newborn in Ruian, one year": {"bundle": "newborn", "region": "330381",
                                   "from": "{year_ago}", "to": "{today}"},
    "one region, 45 days": {"region": "330102", "from": "{days_ago}", "to": "{today}"},
}


def measure_reads(client, requests: int, now: datetime) -> dict:
    today = now.date()
    values = {"today": today.isoformat(),
              "year_ago": (today - timedelta(days=365)).isoformat(),
              "days_ago": (today - timedelta(days=44)).isoformat()}
    found = {}
    for name, query in READS.items():
        args = {k: v.format(**values) for k, v in query.items()}
        samples, commands = [], set()
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/api/v1/stats/reform", query_string=args)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{args}: {response.status_code} "
                                   f"{response.get_data(as_text=True)}")
            commands.add(int(response.headers["X-DB-Commands"]))
        if "from" in args:
            buckets = len(reform.periods(datetime.fromisoformat(args["from"]).date(),
                                         datetime.fromisoformat(args["to"]).date()))
        else:
            buckets = 1
        found[name] = {"requests": requests, "db_commands": sorted(commands),
                       "buckets_per_kind": buckets,
                       "p50_ms": round(_percentile(samples, .5), 2),
                       "p95_ms": round(_percentile(samples, .95), 2),
                       "mean_ms": round(statistics.fmean(samples), 2),
                       "applications": response.get_json()["applications"]}
    return found


def run(sizes: list[int], requests: int, seed: int, sample: int = 300) -> dict:
    with database_of_its_own("onething_reform_bench"):
        app = create_app("test")
        client = app.test_client()
        report: dict = {"sizes": {}}
        with app.app_context():
            catalogue_seed.load_catalogue()
            versions = {code: publishing.compiled_bundle(code)["version"] for code in BUNDLES}
            now = datetime.now(UTC)
            rng = random.Random(seed)
            report["rollup"] = rollup_rate(sample, rng, now, versions)
            for size in sizes:
                counted_s = count_history(size, rng, now, versions)
                report["sizes"][str(size)] = {
                    "applications": size, "counted_s": round(counted_s, 1),
                    "buckets_stored": FigureBucket.objects.count(),
                    "reads": measure_reads(client, requests, now)}
        return report


def rows(report: dict) -> list[dict]:
    """One line per size for `make bench`'s table."""
    found = []
    for size, result in report.get("sizes", {}).items():
        if "error" in result:
            found.append({"label": f"reform figures at {size}", "figure": result["error"]})
            continue
        reads = result["reads"]
        commands = sorted({c for r in reads.values() for c in r["db_commands"]})
        p95 = max(r["p95_ms"] for r in reads.values())
        found.append({"label": f"reform figures read, {int(size):,} applications",
                      "figure": f"{'/'.join(map(str, commands))} database commands, p95 ≤ "
                                f"{p95} ms over {len(reads)} filters"})
    rate = report.get("rollup")
    if rate:
        found.append({"label": "reform figures roll-up (flask loop sweep)",
                      "figure": f"{rate['per_second']} applications/s over "
                                f"{rate['applications']} finished applications"})
    return found


def print_table(report: dict) -> None:
    rate = report["rollup"]
    print(f"roll-up: {rate['applications']} stored applications counted in {rate['seconds']} s "
          f"({rate['per_second']} a second)")
    for size, result in report["sizes"].items():
        print(f"\n== {int(size):,} applications (counted in {result['counted_s']} s, "
              f"{result['buckets_stored']:,} buckets stored)")
        print(f"{'read':<30}{'commands':>10}{'buckets':>9}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'counted':>9}")
        for name, row in result["reads"].items():
            print(f"{name:<30}{'/'.join(map(str, row['db_commands'])):>10}"
                  f"{row['buckets_per_kind']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}"
                  f"{row['applications']:>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000",
                        help="applications of history (default 1000,1000000)")
    parser.add_argument("--sample", type=int, default=300,
                        help="stored applications the real roll-up counts, for its rate")
    parser.add_argument("--requests", type=int, default=100, help="reads per filter")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--out", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    report = run(sizes, args.requests, args.seed, args.sample)
    report["rows"] = rows(report)
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
