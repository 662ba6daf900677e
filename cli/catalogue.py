"""`flask catalogue ...`: load the seeded catalogue, generate a Zhejiang-sized one."""
import click
from flask import current_app

from services.catalogue import generator as catalogue_generator
from services.catalogue import search_index
from services.catalogue import seed as catalogue_seed


@click.group("catalogue")
def group():
    """The service catalogue: departments, matters and "one thing" bundles."""


@group.command("load")
def load():
    """Load data/catalogue/*.yaml (idempotent: a rerun changes nothing)."""
    changed = catalogue_seed.load_catalogue()
    click.echo("catalogue loaded: " + ", ".join(f"{k} {v}" for k, v in changed.items()))


@group.command("generate")
@click.option("--main", "main_items", type=click.IntRange(min=0), default=1411, show_default=True,
              help="Main items (主项) to generate.")
@click.option("--sub", "sub_items", type=click.IntRange(min=0), default=3443, show_default=True,
              help="Sub-items (子项) of them to generate.")
@click.option("--seed", type=int, default=20190316, show_default=True,
              help="Random seed: the same seed makes the same catalogue.")
@click.option("--force", is_flag=True, help="Allow it in production (never wanted there).")
def generate(main_items, sub_items, seed, force):
    """Replace generated matters with a Zhejiang-sized catalogue (benchmarks, demos)."""


    if current_app.config["APP_ENV"] == "production" and not force:
        raise click.ClickException("Generated matters do not belong in production's catalogue.")
    summary = catalogue_generator.generate(main=main_items, sub=sub_items, seed=seed)
    click.echo("generated: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if current_app.config["CATALOGUE_INDEX_SNAPSHOTS"]:
        # Every process would otherwise read the whole new catalogue on its first search.
        search_index.prebuild()
        click.echo("search index prepared: processes start from its snapshot")
