"""Command-line tools (`flask <group> <command>`): each cli/ module defining `group` is added."""
import importlib
import pkgutil

from flask import Flask


def register_commands(app: Flask) -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        group = getattr(importlib.import_module(f"cli.{module.name}"), "group", None)
        if group is not None:
            app.cli.add_command(group)
