import pytest

import config


def test_production_refuses_to_start_with_development_secrets(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load()


def test_production_starts_with_its_own_secrets(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("JWT_KEYS", '{"k2026": "%s"}' % ("j" * 40))
    monkeypatch.setenv("JWT_ACTIVE_KID", "k2026")
    monkeypatch.setenv("DATA_KEYS", '{"d1": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy1vaw=="}')
    monkeypatch.setenv("DATA_ACTIVE_KID", "d1")
    monkeypatch.setenv("BLIND_INDEX_KEY", "b" * 40)
    loaded = config.load("production")
    assert loaded.LOG_FORMAT == "json"
    assert loaded.JWT_KEYS == {"k2026": "j" * 40}


def test_every_setting_can_be_overridden_by_its_environment_variable(monkeypatch):
    monkeypatch.setenv("PORT", "6123")
    monkeypatch.setenv("DEV_SEED", "false")
    loaded = config.load("development")
    assert loaded.PORT == 6123
    assert loaded.DEV_SEED is False


def test_an_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="APP_ENV"):
        config.load("staging")
