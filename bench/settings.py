"""The bench's sizes, each changeable from the environment; set for a 2-core machine and a run
of under five minutes."""
import os


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)



CITIZENS = int(setting("BENCH_CITIZENS", 6))

JOURNEY_SECONDS = setting("BENCH_JOURNEY_SECONDS", 45)

TAIL_SECONDS = setting("BENCH_TAIL_SECONDS", 20)  # officers finish the queues after citizens stop

APPLY_USERS = int(setting("BENCH_APPLY_USERS", 6))

APPLY_SECONDS = setting("BENCH_APPLY_SECONDS", 15)

# Applications per citizen in the apply-only loads (production refuses a 21st in an hour), and the
# rate the citizens prepared for a load cover (more: the next ones sign in during the load).
APPLY_PER_CITIZEN = int(setting("BENCH_APPLY_PER_CITIZEN", 10))

APPLY_PREPARED_RATE = setting("BENCH_APPLY_PREPARED_RATE", 110)

MAX_BIRTHS = int(setting("BENCH_MAX_BIRTHS", 400))

DRAIN_SECONDS = setting("BENCH_DRAIN_SECONDS", 20)

# Births made one at a time for the database's work per birth (bench/birth_cost.py).
BIRTH_COST_BIRTHS = int(setting("BENCH_BIRTH_COST_BIRTHS", 6))

TRACE_ALL = os.environ.get("BENCH_TRACE", "") not in ("", "0", "false")

TIME_LIMIT = setting("BENCH_TIME_LIMIT", 270)  # seconds: with installing, under five minutes

CATALOGUE_REQUESTS = int(setting("BENCH_CATALOGUE_REQUESTS", 60))
# The reform figures' read at two sizes of history (bench/reform_bench.py).
REFORM_SIZES = os.environ.get("BENCH_REFORM_SIZES") or "1000,100000"
