"""`flask workflow ...`: jobs of the workflow engine (the overdue sweep)."""
import time

import click

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
        marked = sweeper.sweep()
        click.echo(f"marked {marked} overdue task(s)")
        if every is None:
            return
        time.sleep(every)
