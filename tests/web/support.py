"""Real browsers for the web clients: headless Debian Chromium driven by selenium, a live server,
axe-core, and the URLs the browser asked for."""
import contextlib
import json
import shutil
import tempfile
import threading
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = ROOT / "web" / "vendor" / "axe-core-4.14.1.min.js"
MISSING = ("browser tests need Debian's chromium and chromium-driver "
           "(apt-get install -y chromium chromium-driver)")
PHONE = (390, 844)
DESKTOP = (1280, 800)


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class LiveServer:
    """The app served for real on 127.0.0.1 by werkzeug, one thread per request (event streams
    hold theirs), in a thread of the test process."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="live-server")

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


class Browser:
    """One headless Chromium with a fresh profile; remembers every URL it requested."""

    def __init__(self, size=PHONE, locale: str = "zh-CN"):

        self.profile = tempfile.mkdtemp(prefix="onething-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={self.profile}",
                     f"--window-size={size[0]},{size[1]}", f"--lang={locale}"):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"intl.accept_languages": locale})
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_window_size(*size)
        # The page's own viewport exactly (a window's size would include the browser's frame).
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": size[0], "height": size[1], "deviceScaleFactor": 1,
            "mobile": size[0] < 600})
        self.driver.set_script_timeout(60)
        self.size = size
        self.requested: list[str] = []
        self.console: list[dict] = []

    def collect(self) -> None:
        """Move the browser's network and console logs into `requested` and `console`."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        self.console.extend(self.driver.get_log("browser"))

    def quit(self) -> None:
        with contextlib.suppress(Exception):  # a browser that died has nothing more to tell
            self.collect()
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def run_axe(driver) -> list[dict]:
    """axe-core on the page as it stands: its serious and critical violations."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' '))}))))"
        ".catch((e) => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def find(driver, css: str, timeout: float = 20.0):
    """The first element matching `css` once it is there and shown."""

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def present(driver, css: str, timeout: float = 20.0):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait(driver, condition, timeout: float = 20.0):
    """Until `condition(driver)` holds; an element replaced while it was read is read again."""

    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(lambda d: condition(d))


def type_into(driver, css: str, text: str) -> None:
    element = find(driver, css)
    element.clear()
    element.send_keys(text)


def set_field(driver, name: str, value) -> None:
    """Answer a form control by its name as a person would leave it (input and change fired)."""
    element = present(driver, f'[name="{name}"]')
    driver.execute_script(
        "const el = arguments[0]; el.value = arguments[1];"
        "el.dispatchEvent(new Event('input', {bubbles: true}));"
        "el.dispatchEvent(new Event('change', {bubbles: true}));", element, str(value))


def click(driver, css: str, timeout: float = 20.0) -> None:
    element = WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, css)))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()
