"""`flask loop ...`: the service loop's sweep (ratings, offers, reform figures)."""

import click
from flask import current_app

from cli import repeat
from services.offers import sweeper as offers_sweeper
from services.ratings import sweeper as ratings_sweeper
from services.stats import rollup
from services.workflow import handling_times


def sweep_once() -> dict[str, int]:
    """Every sweep of the service loop, once."""
    return {**ratings_sweeper.sweep(), **offers_sweeper.sweep(),
            "applications_counted": rollup.roll_up(),
            # Kept fresh here, so no citizen's application waits for the roll-up.
            "completions_rolled_up": handling_times.roll_up(
                days=int(current_app.config["ETA_HISTORY_DAYS"]))}


@click.group("loop")
def group():
    """Jobs of the service loop: ratings, proactive offers, reform figures."""


@group.command("sweep")
@repeat.every_option
def sweep(every):
    """Invite ratings, flag overdue rectifications, expire offers, make waiting and enrolment
    offers, count finished applications into the reform figures, roll new completions into the
    typical handling times; safe in many processes."""
    repeat.run(lambda: ", ".join(f"{name} {n}" for name, n in sweep_once().items()), every)
