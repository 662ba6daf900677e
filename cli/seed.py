"""`flask seed`: everything `make run` needs in the database, idempotently."""
import importlib

import click
from flask import current_app

# (callable path, only in development?) in the order they run. Each step is idempotent.
SEED_STEPS: list[tuple[str, bool]] = [
    ("services.catalogue.seed:load_catalogue", False),
    # Applications made before regions: their tasks go to the regions that handle them.
    ("services.workflow.backfill:backfill_regions", False),
    # Tasks stored before the queues' key: in their queues again.
    ("services.workflow.backfill:backfill_queue_keys", False),
    # Names of people from before they were sealed: encrypted where they rest.
    ("services.identity.name_sealing:seal_names", False),
    # After the catalogue: an officer for every seeded department.
    ("cli.users:seed_development_accounts", True),
]


def run_seed_steps() -> list[str]:
    done = []
    for path, dev_only in SEED_STEPS:
        if dev_only and not current_app.config["DEV_SEED"]:
            continue
        module_name, _, function_name = path.partition(":")
        getattr(importlib.import_module(module_name), function_name)()
        done.append(path)
    return done


@click.command("seed")
def group():
    """Load the catalogue (and, in development, the development accounts)."""
    for step in run_seed_steps():
        click.echo(f"seeded: {step}")
