"""`flask workflow ...`: jobs of the workflow engine (the overdue sweep)."""

import click

from cli import repeat
from services.workflow import sweeper


@click.group("workflow")
def group():
    """Jobs of the workflow engine."""


@group.command("sweep")
@repeat.every_option
def sweep(every):
    """Mark overdue tasks and alert their departments; safe in many processes at once."""
    overdue = sweeper.Sweeper()
    repeat.run(lambda: f"marked {overdue.run()} overdue task(s)", every)
