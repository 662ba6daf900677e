"""`flask catalogue ...`: load the seeded catalogue, generate a Zhejiang-sized one."""
import click

from services import catalogue_seed


@click.group("catalogue")
def group():
    """The service catalogue: departments, matters and "one thing" bundles."""


@group.command("load")
def load():
    """Load data/catalogue/*.yaml (idempotent: a rerun changes nothing)."""
    changed = catalogue_seed.load_catalogue()
    click.echo("catalogue loaded: " + ", ".join(f"{k} {v}" for k, v in changed.items()))
