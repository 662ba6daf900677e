"""`flask notifications ...`: the delivery worker, and moving outboxes by hand."""
import signal

import click
from flask import current_app

from notifications import relay
from notifications.worker import Worker


@click.group("notifications")
def group():
    """Notification delivery (inbox, push, mini-programs, SMS, webhooks)."""


@group.command("worker")
@click.option("--once", is_flag=True,
              help="Deliver what is due now, then exit (default: keep running).")
def worker(once):
    """Relay outboxes and deliver notifications; run as many processes as you like."""
    runner = Worker(current_app.config)

    def stop(signum, frame):
        runner.stop()  # finish the round in hand, then leave

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.run(once=once)


@group.command("relay")
def relay_command():
    """Move pending outbox intents into the inbox now (the worker does this every round)."""
    moved = relay.relay_pending(limit=10_000)
    click.echo(f"relayed {moved} intent(s)")
