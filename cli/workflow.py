"""`flask workflow ...`: jobs of the workflow engine (the overdue sweep)."""
import time

import click
from pymongo.errors import PyMongoError

from services.workflow import sweeper


@click.group("workflow")
def group():
    """Jobs of the workflow engine."""


@group.command("sweep")
@click.option("--every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Sweep again every SECONDS until stopped (default: sweep once).")
def sweep(every):
    """Mark overdue tasks and alert their departments; safe in many processes at once."""
    while True:
        try:
            marked = sweeper.sweep()
            click.echo(f"marked {marked} overdue task(s)")
        except PyMongoError as exc:
            if every is None:
                raise click.ClickException(f"the database is unavailable ({type(exc).__name__})"
                                           ) from None
            # Kept running: the next sweep catches up on whatever this one missed.
            click.echo(f"the database is unavailable ({type(exc).__name__}); next sweep in "
                       f"{every:g} s", err=True)
        if every is None:
            return
        time.sleep(every)
