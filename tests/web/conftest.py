"""Browser tests: the app served for real, the notification worker running, Chromium driving."""
import os
import subprocess
import sys

import pytest

from tests.processes import ROOT
from tests.web import scenes
from tests.web.support import MISSING, PHONE, Browser, LiveServer, browser_available

# Without a browser the browser tests are not collected; test_browser.py says so in one line.
BROWSER_MODULES = ["test_forms.py", "test_loop.py", "test_pages.py", "test_story.py"]
collect_ignore = [] if browser_available() else BROWSER_MODULES


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def live_server(app):
    if not browser_available():
        pytest.skip(MISSING)
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notification_worker(database_server, tmp_path_factory):
    """`flask notifications worker`, as production runs it, against the test database."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "APP_ENV": "test", "MONGODB_URI": database_server.uri,
           "NOTIFICATION_POLL_SECONDS": "0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "notifications", "worker"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def seeded():
    """The seeded catalogue and the development accounts (officer.<department>, clerk, admin)."""
    scenes.seed()


@pytest.fixture
def browsers():
    """browsers(size, locale) → a new headless Chromium; all are closed after the test."""
    opened: list[Browser] = []

    def open_one(size=None, locale="zh-CN"):

        browser = Browser(size or PHONE, locale)
        opened.append(browser)
        return browser

    yield open_one
    for browser in opened:
        browser.quit()
