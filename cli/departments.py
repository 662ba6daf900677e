"""`flask departments ...`: the department simulator for development and demos."""
import click
from flask import current_app

from services.workflow.simulator import Simulator


@click.group("departments")
def group():
    """Departments' queues, worked by a simulator (development, demos)."""


@group.command("simulate")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="How many times faster than real officers (60: a minute "
                                      "of handling takes a second).")
@click.option("--once", is_flag=True,
              help="Finish what is pending now, then exit (default: run until stopped).")
@click.option("--department", "departments", multiple=True, metavar="CODE",
              help="Work only this department's queue (repeatable); default: all of them.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between looks at the queues.")
def simulate(speed, once, departments, poll):
    """Work every department's queue as its officers would, with realistic delays and outputs."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("The department simulator never runs in production.")
    click.echo(f"Simulating departments at {speed:g}x"
               + (f" ({', '.join(departments)})" if departments else "") + "; Ctrl+C stops.")
    simulator = Simulator(speed=speed, departments=departments,
                          report=lambda line: click.echo(line))
    try:
        simulator.run(once=once, poll=poll)
    except KeyboardInterrupt:
        click.echo(f"stopped; {len(simulator.held)} claimed task(s) resume at the next start")
