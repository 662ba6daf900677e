"""Launcher behind `make run` and `make serve`: one embedded database, seeded, then the API."""
import argparse
import os
import subprocess
import sys

import config as settings
from api import create_app
from cli.seed import run_seed_steps
from common.embedded_db import EmbeddedDatabase, stop_on_sigterm


def start_database(config) -> EmbeddedDatabase | None:
    """Start the embedded server unless MONGODB_URI names one; export its URI to children."""
    if config.MONGODB_URI:
        return None
    database = EmbeddedDatabase(config.EMBEDDED_DB_PATH)
    os.environ["MONGODB_URI"] = database.start()
    return database


def seed(app) -> None:
    with app.app_context():
        for step in run_seed_steps():
            print(f"  seeded: {step}")


def banner(port: int, database: EmbeddedDatabase | None) -> None:
    where = (f"embedded at {database.uri} (data in {database.storage_path})" if database
             else "MONGODB_URI")
    print(f"\nOne Thing is serving:\n  API      http://127.0.0.1:{port}/api/v1\n"
          f"  Docs     http://127.0.0.1:{port}/docs\n"
          f"  OpenAPI  http://127.0.0.1:{port}/api/openapi.json\n"
          f"  Health   http://127.0.0.1:{port}/healthz  /readyz\n"
          f"  Database {where}\n", flush=True)


def run(config) -> None:
    database = start_database(config)
    app = create_app()
    seed(app)
    banner(config.PORT, database)
    app.run(host="127.0.0.1", port=config.PORT, threaded=True, use_reloader=False)


def serve(config) -> int:
    database = start_database(config)
    seed(create_app())
    workers = os.environ.get("WEB_CONCURRENCY") or str(max(2, (os.cpu_count() or 1) * 2))
    banner(config.PORT, database)
    gunicorn = subprocess.Popen([
        # Threads, not only processes: each open event stream (/me/events) holds one.
        sys.executable, "-m", "gunicorn", "--workers", workers, "--threads",
        os.environ.get("GUNICORN_THREADS", "16"),
        "--bind", f"127.0.0.1:{config.PORT}", "--access-logfile", "-", "wsgi:app",
    ])
    try:
        return gunicorn.wait()
    finally:
        if gunicorn.poll() is None:
            gunicorn.terminate()
            gunicorn.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run", "serve"])
    command = parser.parse_args(argv).command
    stop_on_sigterm()
    config = settings.load()
    try:
        if command == "run":
            run(config)
            return 0
        return serve(config)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
