"""`flask workflow ...`: jobs of the workflow engine (the overdue sweep)."""

import click

from cli import repeat
from services.workflow import backfill, sweeper

# Finished applications stored before the queue key, keyed a batch at each run (the release's
# `flask seed` keyed the open ones): about 3 s of the database's CPU a run (6.3 ms each, loaded
# machine) until none is left, and once a read of all that is left.
STORED_PER_RUN = 500


@click.group("workflow")
def group():
    """Jobs of the workflow engine."""


@group.command("sweep")
@repeat.every_option
def sweep(every):
    """Mark overdue tasks and alert their departments; safe in many processes at once."""
    overdue, stored = sweeper.Sweeper(), backfill.StoredTaskKeys(per_run=STORED_PER_RUN)

    def run() -> str:
        marked, keyed = overdue.run(), stored.run()
        return f"marked {marked} overdue task(s)" + (
            f"; {keyed} stored application(s) given queue keys" if keyed else "")

    repeat.run(run, every)
