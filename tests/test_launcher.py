"""`make run`'s launcher as a newcomer uses it: a real process, a real embedded database."""
import os
import signal
import subprocess
import sys

import pymongo
import pytest
import requests

from common.embedded_db import EmbeddedDatabase, free_port
from tests.processes import ROOT, Launcher, port_open, wait_until

pytestmark = pytest.mark.slow


def test_launcher_serves_docs_and_keeps_data_across_a_restart(tmp_path):
    env = {"EMBEDDED_DB_PATH": str(tmp_path / "db")}
    first = Launcher(free_port(), env)
    try:
        first.wait_ready()
        assert requests.get(first.url + "/readyz", timeout=5).json()["status"] == "ok"
        assert requests.get(first.url + "/docs", timeout=5).status_code == 200
        spec = requests.get(first.url + "/api/openapi.json", timeout=5).json()
        assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        db_port = first.database_port()
        client = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/?directConnection=true")
        client.onething.notes.insert_one({"kept": True})
        client.close()
    finally:
        first.stop(signal.SIGTERM)
    # SIGTERM stops the app and its database child with it.
    wait_until(lambda: not port_open(db_port), timeout=15)

    second = Launcher(free_port(), env)
    try:
        second.wait_ready()
        client = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{second.database_port()}/?directConnection=true")
        assert client.onething.notes.find_one({}, {"_id": 0}) == {"kept": True}
        client.close()
    finally:
        second.stop()


def test_launcher_uses_mongodb_uri_and_starts_no_database(tmp_path):
    external = EmbeddedDatabase(tmp_path / "external")
    external.start()
    launcher = Launcher(free_port(), {"EMBEDDED_DB_PATH": str(tmp_path / "unused"),
                                      "MONGODB_URI": external.uri})
    try:
        launcher.wait_ready()
        assert launcher.database_port() is None
        assert not (tmp_path / "unused").exists()
        assert requests.get(launcher.url + "/readyz", timeout=5).status_code == 200
    finally:
        launcher.stop()
        external.stop()


def test_readyz_goes_503_when_the_database_dies_and_recovers_when_it_is_back(tmp_path):
    database = EmbeddedDatabase(tmp_path / "db")
    database.start()
    launcher = Launcher(free_port(), {"EMBEDDED_DB_PATH": str(tmp_path / "unused"),
                                      "MONGODB_URI": database.uri, "MONGODB_TIMEOUT_MS": "500"})
    try:
        launcher.wait_ready()
        assert requests.get(launcher.url + "/readyz", timeout=10).status_code == 200
        database.process.kill()
        database.process.wait()

        down = requests.get(launcher.url + "/readyz", timeout=10)
        assert down.status_code == 503
        assert down.json()["error"] == "database_unavailable"
        assert requests.get(launcher.url + "/healthz", timeout=5).status_code == 200

        EmbeddedDatabase(tmp_path / "db", port=database.port).start()
        wait_until(lambda: requests.get(launcher.url + "/readyz", timeout=10).status_code == 200,
                   timeout=30, interval=0.5)
    finally:
        launcher.stop()


def test_production_without_mongodb_uri_refuses_to_start_in_one_line(tmp_path):
    env = {**os.environ, "APP_ENV": "production", "EMBEDDED_DB_PATH": str(tmp_path / "db"),
           "SECRET_KEY": "s" * 40, "JWT_KEYS": '{"k": "%s"}' % ("j" * 40), "JWT_ACTIVE_KID": "k",
           "DATA_KEYS": '{"d1": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy1vaw=="}',
           "DATA_ACTIVE_KID": "d1", "BLIND_INDEX_KEY": "b" * 40}
    env.pop("MONGODB_URI", None)

    for command in ([sys.executable, "manage.py", "serve"],
                    [sys.executable, "-m", "flask", "--app", "wsgi", "workflow", "sweep"]):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode in (2, 3), result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert "without MONGODB_URI" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "db").exists()
