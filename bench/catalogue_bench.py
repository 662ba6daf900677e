"""Catalogue latency at Zhejiang's size and ten times it: p50/p95 of listing, searching and the
bundle page, and how long the first search after a process starts takes.

Zhejiang's size is its 1,411 main items and 3,443 sub-items over the province, its 11 cities and
90 counties (data/regions/zhejiang.yaml), with the counties' local implementations. A process
starting finds the search index's snapshot, which the process that built it left in the
database, and catches up from it; reading every matter (the index built from nothing) is timed
too. Runs against a fresh embedded database of its own (or MONGODB_URI), through the whole Flask
stack (routing, arguments, the search index, serialization), without a network in between:
    .venv/bin/python -m bench.catalogue_bench                 # 1x and 10x, 200 requests each
    .venv/bin/python -m bench.catalogue_bench --scales 1 --requests 50 --json

It prints figures; it asserts nothing (timing belongs here, not in tests).
"""
import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

from api import create_app
from bench.processes import database_of_its_own
from models import catalogue_state
from services.catalogue import admin as catalogue_admin
from services.catalogue import generator as catalogue_generator
from services.catalogue import search_index
from services.catalogue import seed as catalogue_seed

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAIN, SUB = 1411, 3443  # Zhejiang's standardized main items and sub-items
SEARCHES = {
    "search zh word": ["户口", "登记", "许可", "社保卡", "营业执照", "出生"],
    "search zh phrase": ["食品经营许可", "户口迁移", "新生儿出生户口登记", "道路运输经营许可"],
    "search zh colloquial": ["我想办个食品许可证", "宝宝上户口", "怎么办理社保卡"],
    "search en": ["permit", "household registration", "licence", "food business"],
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def measure(client, urls: list[str], requests: int) -> dict:
    samples = []
    for n in range(requests):
        url = urls[n % len(urls)]
        started = time.perf_counter()
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.get_data(as_text=True)}")
    return {"requests": len(samples), "p50_ms": round(percentile(samples, 0.50), 2),
            "p95_ms": round(percentile(samples, 0.95), 2),
            "mean_ms": round(statistics.fmean(samples), 2),
            "max_ms": round(max(samples), 2)}


def scenarios(total_pages: int, rng: random.Random) -> dict[str, list[str]]:
    pages = [rng.randint(1, max(1, total_pages)) for _ in range(50)]
    found = {name: [f"/api/v1/matters?q={q}" for q in queries]
             for name, queries in SEARCHES.items()}
    return {
        "list (page n of all)": [f"/api/v1/matters?page={p}" for p in pages],
        "list filtered": ["/api/v1/matters?department=public_security&level=county",
                          "/api/v1/matters?region=330381&page=2",
                          "/api/v1/matters?department=market_regulation&region=330100"],
        **found,
        "search + filter": ["/api/v1/matters?q=许可&department=market_regulation&level=city",
                            "/api/v1/matters?q=登记&region=330381"],
        "bundles by words": ["/api/v1/bundles?q=生孩子", "/api/v1/bundles?q=I just had a baby",
                             "/api/v1/bundles?q=开个小卖部"],
        "bundle detail": ["/api/v1/bundles/newborn", "/api/v1/bundles/school_enrollment"],
        "bundle detail in a region": ["/api/v1/bundles/newborn?region=330102",
                                      "/api/v1/bundles/vehicle_registration?region=330381",
                                      "/api/v1/bundles/newborn?region=330522"],
    }


STARTS = 3  # simulated process starts; the slowest first search is reported


def first_search_after_start(client) -> float:
    """A process starting: no index in memory, the catalogue's state unknown; its first search
    loads the stored snapshot and catches up. Milliseconds."""
    search_index.forget()
    catalogue_state.forget_state()
    started = time.perf_counter()
    response = client.get("/api/v1/matters?q=户口", headers={"Accept-Language": "zh-CN"})
    if response.status_code != 200:
        raise RuntimeError(f"first search: {response.status_code}")
    return (time.perf_counter() - started) * 1000


def run(scales: list[int], requests: int, seed: int) -> dict:
    # A scan of ten times Zhejiang's catalogue keeps the embedded server busy for seconds.
    with database_of_its_own("onething_catalogue_bench", timeout_ms=60_000):
        app = create_app("test")
        app.config["CATALOGUE_INDEX_SNAPSHOTS"] = True  # as every process outside the tests
        client = app.test_client()
        report: dict = {"scales": {}}
        with app.app_context():
            catalogue_seed.load_catalogue()
            for scale in scales:
                started = time.perf_counter()
                generated = catalogue_generator.generate(main=MAIN * scale, sub=SUB * scale,
                                                         seed=seed)
                generate_s = time.perf_counter() - started
                # No snapshot yet: the first request reads every matter and builds the index.
                search_index.forget()
                started = time.perf_counter()
                first = client.get("/api/v1/matters?page_size=1")
                build_s = time.perf_counter() - started
                total = json.loads(first.headers["X-Pagination"])["total"]
                # What that process leaves for the next ones, beside serving (`flask catalogue
                # generate` does it at once): measured until it is stored, and nothing else is
                # measured while it is being written.
                started = time.perf_counter()
                if not search_index.wait_for_snapshot(timeout=600) or (
                        search_index.stored_revision() != search_index.current_index().revision):
                    search_index.store_snapshot(search_index.current_index())
                store_s = time.perf_counter() - started
                starts = [first_search_after_start(client) for _ in range(STARTS)]
                figures = {name: measure(client, urls, requests) for name, urls
                           in scenarios(total // 20, random.Random(seed)).items()}
                # One matter changes: the next request catches the index up incrementally.
                catalogue_admin.update_matter(code="gen_m00001",
                                              changes={"synonyms": [f"bench {time.time()}"]})
                started = time.perf_counter()
                client.get("/api/v1/matters?q=户口")
                catch_up_ms = (time.perf_counter() - started) * 1000
                report["scales"][f"{scale}x"] = {
                    "matters": total, "generated": generated,
                    "generate_s": round(generate_s, 1), "index_build_s": round(build_s, 2),
                    "snapshot_stored_after_s": round(store_s, 2),
                    "first_search_after_start_ms": round(max(starts), 1),
                    "first_searches_after_start_ms": [round(m, 1) for m in starts],
                    "catch_up_after_one_change_ms": round(catch_up_ms, 1), "latency": figures}
        return report


def print_table(report: dict) -> None:
    for scale, result in report["scales"].items():
        print(f"\n== catalogue at {scale}: {result['matters']} live matters "
              f"(generated in {result['generate_s']} s, index built from every matter in "
              f"{result['index_build_s']} s, its snapshot stored beside serving "
              f"{result['snapshot_stored_after_s']} s later; first search after a start "
              f"{result['first_search_after_start_ms']} ms; caught up after one change in "
              f"{result['catch_up_after_one_change_ms']} ms)")
        print(f"{'scenario':<26}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}"
              f"{'max ms':>10}")
        for name, row in result["latency"].items():
            print(f"{name:<26}{row['requests']:>6}{row['p50_ms']:>10}{row['p95_ms']:>10}"
                  f"{row['mean_ms']:>10}{row['max_ms']:>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10",
                        help="multiples of Zhejiang's 1,411 + 3,443 items (default 1,10)")
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    parser.add_argument("--seed", type=int, default=20190316)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    report = run(scales, args.requests, args.seed)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
