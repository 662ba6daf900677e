"""`flask materials ...`: housekeeping of the stored files behind citizens' materials."""
import time

import click
from flask import current_app
from flask.cli import AppGroup
from pymongo.errors import PyMongoError

from services.materials import uploads

group = AppGroup("materials", help="Materials: housekeeping of stored files.")


@group.command("sweep")
@click.option("--grace", type=int, default=None,
              help="Seconds a file may wait for its material (default MATERIAL_SWEEP_GRACE).")
@click.option("--every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Sweep again every SECONDS until stopped (default: sweep once).")
def sweep(grace: int | None, every: float | None):
    """Remove orphaned files and chunks of interrupted uploads; expire lapsed materials."""
    grace = current_app.config["MATERIAL_SWEEP_GRACE"] if grace is None else grace
    while True:
        try:
            result = uploads.sweep(grace_seconds=grace)
            click.echo(f"orphan files removed: {result['orphan_files']}; "
                       f"orphan chunks removed: {result['orphan_chunks']}; "
                       f"materials expired: {result['expired']}")
        except PyMongoError as exc:
            if every is None:
                raise click.ClickException(f"the database is unavailable ({type(exc).__name__})"
                                           ) from None
            click.echo(f"the database is unavailable ({type(exc).__name__}); next sweep in "
                       f"{every:g} s", err=True)
        if every is None:
            return
        time.sleep(every)
