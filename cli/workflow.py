"""`flask workflow ...`: jobs of the workflow engine (the overdue sweep)."""

import click

from cli import repeat
from services.workflow import backfill, sweeper

# Finished applications stored before the queue key, keyed a batch at each run (the release's
# `flask seed` keyed the open ones): about 5 s of the database's CPU a run until none is left.
STORED_PER_RUN = 500


@click.group("workflow")
def group():
    """Jobs of the workflow engine."""


@group.command("sweep")
@repeat.every_option
def sweep(every):
    """Mark overdue tasks and alert their departments; safe in many processes at once."""
    overdue = sweeper.Sweeper()

    def run() -> str:
        marked, keyed = overdue.run(), backfill.key_stored_tasks(limit=STORED_PER_RUN)
        return f"marked {marked} overdue task(s)" + (
            f"; {keyed} stored application(s) given queue keys" if keyed else "")

    repeat.run(run, every)
