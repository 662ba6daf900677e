"""A job run once, or every N seconds until stopped, that outlives the database being away."""
import time
from collections.abc import Callable

import click
from pymongo.errors import PyMongoError

every_option = click.option(
    "--every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
    help="Run again every SECONDS until stopped (default: once).")


def run(job: Callable[[], str], every: float | None) -> None:
    """Echo what `job` did; with `every`, keep going when the database is away for a while (the
    next run catches up on whatever this one missed), else fail with one line."""
    while True:
        try:
            click.echo(job())
        except PyMongoError as exc:
            if every is None:
                raise click.ClickException(f"the database is unavailable ({type(exc).__name__})"
                                           ) from None
            click.echo(f"the database is unavailable ({type(exc).__name__}); next run in "
                       f"{every:g} s", err=True)
        if every is None:
            return
        time.sleep(every)
