"""`make soak`'s load: `make bench`'s families and officers (bench/locustfile.py), the families
arriving at a fixed rate rather than as fast as they can.

Each `Family` user starts one birth every SOAK_PACING_SECONDS (locust's constant pacing), and
`bench.soak` starts SOAK_RATE × SOAK_PACING_SECONDS of them, spread one every 1/SOAK_RATE
seconds: births begin at SOAK_RATE a second for as long as BENCH_CITIZEN_SECONDS. A birth that
takes longer than the pacing delays its family's next one, so the rate achieved is recorded
(births started per minute) rather than assumed.

Besides what bench/locustfile.py records, every answer's time is kept by the minute of the run
it ended in, for the p95 per minute, and written to SOAK_MINUTES_OUT when locust quits.
"""
import json
import os
import time
from collections import defaultdict

from locust import constant_pacing, events

from bench import locustfile as journey

PACING = float(os.environ.get("SOAK_PACING_SECONDS") or 30)
MINUTES_OUT = os.environ.get("SOAK_MINUTES_OUT", "")

# minute of the run → {"times_ms": [...], "failures": n, "births_started": n}
by_minute: dict[int, dict] = defaultdict(lambda: {"times_ms": [], "failures": 0,
                                                  "server_errors": 0, "births_started": 0})


def minute_now() -> int:
    return int((time.time() - journey.started) // 60)


@events.request.add_listener
def _by_minute(request_type, name, response_time, response_length, response=None,
               exception=None, **kwargs):
    minute = by_minute[minute_now()]
    if exception is not None:
        minute["failures"] += 1
    if (getattr(response, "status_code", 0) or 0) >= 500:
        minute["server_errors"] += 1
    minute["times_ms"].append(response_time)


@events.quitting.add_listener
def _write(environment, **kwargs):
    if MINUTES_OUT:
        with open(MINUTES_OUT, "w", encoding="utf-8") as handle:
            json.dump({"started": journey.started, "minutes": by_minute}, handle)


class Family(journey.Citizen):
    """A family after a birth, one birth per pacing period."""

    wait_time = constant_pacing(PACING)

    def counted_birth(self):
        if not self.citizens_done():
            by_minute[minute_now()]["births_started"] += 1
        self.birth()


# Locust adds a base class's tasks to a subclass's: this one replaces the citizen's own.
Family.tasks = [Family.counted_birth]


HealthOfficer = journey.HealthOfficer
CommunityHealthOfficer = journey.CommunityHealthOfficer
PublicSecurityOfficer = journey.PublicSecurityOfficer
MedicalInsuranceOfficer = journey.MedicalInsuranceOfficer
TaxationOfficer = journey.TaxationOfficer
HrssOfficer = journey.HrssOfficer
