"""The browser tests' one line when the machine has no browser for them."""
import pytest

from tests.web.support import CHROMEDRIVER, CHROMIUM, MISSING, browser_available


def test_a_browser_and_its_driver_are_installed_for_the_browser_tests():
    if not browser_available():
        pytest.skip(MISSING)
    assert CHROMIUM and CHROMEDRIVER
