"""`flask materials ...`: housekeeping of the stored files behind citizens' materials."""

import click
from flask import current_app
from flask.cli import AppGroup

from cli import repeat
from services.materials import uploads

group = AppGroup("materials", help="Materials: housekeeping of stored files.")


@group.command("sweep")
@click.option("--grace", type=int, default=None,
              help="Seconds a file may wait for its material (default MATERIAL_SWEEP_GRACE).")
@repeat.every_option
def sweep(grace: int | None, every: float | None):
    """Remove orphaned files and chunks of interrupted uploads; expire lapsed materials."""
    grace = current_app.config["MATERIAL_SWEEP_GRACE"] if grace is None else grace
    def job() -> str:
        result = uploads.sweep(grace_seconds=grace)
        return (f"orphan files removed: {result['orphan_files']}; orphan chunks removed: "
                f"{result['orphan_chunks']}; materials expired: {result['expired']}")

    repeat.run(job, every)
