"""Fixtures of the notification tests: the FCM stand-in wired into the app, clean name caches."""
import pytest

from notifications import fcm as fcm_module
from notifications import relay, templates
from standins.fcm import FcmStandin


@pytest.fixture(autouse=True)
def fresh_names():
    templates.names.clear()
    relay.recent_numbers.clear()
    yield
    templates.names.clear()


@pytest.fixture
def fcm(app, tmp_path, monkeypatch):
    """The FCM stand-in, with the app's firebase-admin pointed at it by a fresh service account."""
    with FcmStandin() as standin:
        monkeypatch.setitem(app.config, "FCM_CREDENTIALS", standin.write_service_account(tmp_path))
        monkeypatch.setitem(app.config, "FCM_BASE_URL", standin.url)
        yield standin
        fcm_module.close_gateways()
