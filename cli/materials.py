"""`flask materials ...`: housekeeping of the stored files behind citizens' materials."""
import click
from flask import current_app
from flask.cli import AppGroup

from services.materials import uploads

group = AppGroup("materials", help="Materials: housekeeping of stored files.")


@group.command("sweep")
@click.option("--grace", type=int, default=None,
              help="Seconds a file may wait for its material (default MATERIAL_SWEEP_GRACE).")
def sweep(grace: int | None):
    """Remove orphaned files and chunks of interrupted uploads; expire lapsed materials."""
    grace = current_app.config["MATERIAL_SWEEP_GRACE"] if grace is None else grace
    result = uploads.sweep(grace_seconds=grace)
    click.echo(f"orphan files removed: {result['orphan_files']}; "
               f"orphan chunks removed: {result['orphan_chunks']}; "
               f"materials expired: {result['expired']}")
