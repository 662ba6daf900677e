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


def test_production_refuses_to_start_without_mongodb_uri_in_one_line(monkeypatch):
    for name, value in {"SECRET_KEY": "s" * 40, "JWT_KEYS": '{"k": "%s"}' % ("j" * 40),
                        "JWT_ACTIVE_KID": "k", "DATA_ACTIVE_KID": "d1", "BLIND_INDEX_KEY": "b" * 40,
                        "DATA_KEYS": '{"d1": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy1vaw=="}'
                        }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MONGODB_URI", raising=False)

    with pytest.raises(config.StartupError, match="without MONGODB_URI") as refused:
        config.load("production")
    assert "\n" not in str(refused.value)


def test_a_setting_that_cannot_be_read_is_named_without_its_value(monkeypatch):
    monkeypatch.setenv("DATA_KEYS", "{not json")
    with pytest.raises(config.StartupError, match="DATA_KEYS is not a valid JSON") as refused:
        config.load("development")
    assert "not json" not in str(refused.value)


def test_the_embedded_databases_cache_is_a_size_in_megabytes_or_gigabytes(monkeypatch):
    assert config.load("development").EMBEDDED_DB_CACHE_SIZE == "512M"
    monkeypatch.setenv("EMBEDDED_DB_CACHE_SIZE", "4G")
    assert config.load("development").EMBEDDED_DB_CACHE_SIZE == "4G"
    assert config.cache_megabytes("4g") == 4096 and config.cache_megabytes(" 512M ") == 512


@pytest.mark.parametrize("size", ["4GB", "lots", "0G", "-1G", "1.5G", "32M", ""])
def test_a_cache_size_the_server_would_misread_or_starve_on_is_refused_at_start(monkeypatch,
                                                                              size):
    # The server reads "4GB" as its 1 GB default without a word; 32M stalls writes.
    monkeypatch.setenv("EMBEDDED_DB_CACHE_SIZE", size)
    with pytest.raises(config.StartupError, match="EMBEDDED_DB_CACHE_SIZE") as refused:
        config.load("development")
    assert "\n" not in str(refused.value)
