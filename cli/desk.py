"""`flask desk ...`: jobs of the service desk (conversations waiting too long)."""
import time

import click

from services.desk import sweeper


@click.group("desk")
def group():
    """Jobs of the service desk."""


@group.command("sweep")
@click.option("--every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Sweep again every SECONDS until stopped (default: sweep once).")
def sweep(every):
    """Flag conversations waiting too long to their region's agents; safe in many processes."""
    while True:
        flagged = sweeper.sweep()
        click.echo(f"flagged {flagged} conversation(s) waiting too long")
        if every is None:
            return
        time.sleep(every)
