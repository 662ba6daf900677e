"""`make screenshots`: every page of the citizen's app (390×844) and the workbench (1280×800), in
Chinese and English, saved under var/screenshots/. Runs on a throwaway embedded database with
the browser tests' story (tests/web/scenes.py); needs Debian's chromium and chromium-driver."""
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402 (after the path is set)
from common.embedded_db import EmbeddedDatabase  # noqa: E402 (after the path is set)
from tests.helpers import ApiClient  # noqa: E402 (after the path is set)
from tests.web import scenes  # noqa: E402 (after the path is set)
from tests.web.support import DESKTOP, MISSING, PHONE, Browser, LiveServer, browser_available  # noqa: E402 (after the path is set)

OUT = ROOT / "var" / "screenshots"


def main() -> int:


    if not browser_available():
        print(f"make screenshots: {MISSING}", file=sys.stderr)
        return 1

    database = EmbeddedDatabase(":memory:")
    database.start()
    os.environ["MONGODB_URI"] = database.uri

    app = create_app("test")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = LiveServer(app).start()
    phone = desktop = None
    try:
        with app.app_context():
            scenes.seed()
            client = ApiClient(app.test_client(), headers={"Accept-Language": "en"})
            scene = scenes.story(client)
            OUT.mkdir(parents=True, exist_ok=True)
            phone, desktop = Browser(PHONE), Browser(DESKTOP)
            started = time.monotonic()
            saved = 0
            for locale in ("zh-CN", "en"):
                for large in (False, True):
                    for page in scenes.PAGES:
                        if large and page[0] != "app":
                            continue
                        browser = phone if page[0] == "app" else desktop
                        scenes.visit(browser, server.url, page, scene, client, locale, large)
                        name = page[2].strip("/").replace("/", "-").replace("{", "").replace(
                            "}", "") or "home"
                        who = "" if page[1] in ("anonymous", "citizen") else f"-{page[1]}"
                        signed = "-signed-out" if page[1] == "anonymous" else ""
                        stem = f"{page[0]}-{name}{who}{signed}{'-large' if large else ''}"
                        browser.driver.save_screenshot(str(OUT / f"{stem}.{locale}.png"))
                        saved += 1
            print(f"saved {saved} screenshots in {OUT} ({time.monotonic() - started:.0f} s)")
    finally:
        for browser in (phone, desktop):
            if browser:
                browser.quit()
        server.stop()
        database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
