"""`flask desk ...`: jobs of the service desk (conversations waiting too long)."""

import click

from cli import repeat
from services.desk import sweeper


@click.group("desk")
def group():
    """Jobs of the service desk."""


@group.command("sweep")
@repeat.every_option
def sweep(every):
    """Flag conversations waiting too long to their region's agents; safe in many processes."""
    repeat.run(lambda: f"flagged {sweeper.sweep()} conversation(s) waiting too long", every)
