"""Settings per environment, chosen by APP_ENV; each one is overridable from the environment."""
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Values that only ever exist in this repository: production refuses to start with any of them.
DEV_SECRET = "dev-secret-do-not-use-in-production"  # noqa: S105
DEV_JWT_KEYS = {"dev1": "dev-jwt-key-do-not-use-in-production-0001"}
DEV_DATA_KEYS = {"dev1": "ZGV2LWRhdGEta2V5LWRvLW5vdC11c2UtaW4tcHJvZC0="}
DEV_BLIND_INDEX_KEY = "dev-blind-index-key-do-not-use-in-production"


class Config:
    APP_ENV = "development"
    SECRET_KEY = DEV_SECRET
    # Unset: start the embedded MongoDB-compatible server under EMBEDDED_DB_PATH.
    MONGODB_URI = ""
    MONGODB_DB = "onething"
    MONGODB_TIMEOUT_MS = 3000
    EMBEDDED_DB_PATH = str(ROOT / "var" / "db")
    PORT = 5000

    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"  # "json": one object per line
    DEFAULT_LOCALE = "zh-CN"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    # Tokens: HS256 keys by key id; the active one signs, all of them verify (rotation).
    JWT_KEYS = DEV_JWT_KEYS
    JWT_ACTIVE_KID = "dev1"
    JWT_ISSUER = "onething"
    JWT_AUDIENCE = "onething-api"
    ACCESS_TOKEN_TTL = 900
    REFRESH_TOKEN_TTL = 30 * 24 * 3600

    # Personal data: AES-GCM keys (urlsafe base64, 32 bytes) by key id, and the blind-index key.
    DATA_KEYS = DEV_DATA_KEYS
    DATA_ACTIVE_KID = "dev1"
    BLIND_INDEX_KEY = DEV_BLIND_INDEX_KEY

    # The OpenAPI document and interactive docs (flask-smorest).
    API_TITLE = "One Thing API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "api/openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/docs-assets/"
    DEV_SEED = True
    # Adds X-DB-Commands (database commands this request sent) to every answer: benchmarks, tests.
    DB_COMMAND_COUNTING = False

    def check(self) -> None:
        """Refuse a configuration that cannot work; overridden where stricter rules apply."""


class DevelopmentConfig(Config):
    APP_ENV = "development"


class TestConfig(Config):
    APP_ENV = "test"
    TESTING = True
    MONGODB_DB = "onething_test"
    LOG_LEVEL = "WARNING"
    DEV_SEED = False
    DB_COMMAND_COUNTING = True


class ProductionConfig(Config):
    APP_ENV = "production"
    LOG_FORMAT = "json"
    DEV_SEED = False

    def check(self) -> None:
        weak = []
        if self.SECRET_KEY == DEV_SECRET or len(self.SECRET_KEY) < 32:
            weak.append("SECRET_KEY")
        if set(self.JWT_KEYS.values()) & set(DEV_JWT_KEYS.values()):
            weak.append("JWT_KEYS")
        if set(self.DATA_KEYS.values()) & set(DEV_DATA_KEYS.values()):
            weak.append("DATA_KEYS")
        if self.BLIND_INDEX_KEY == DEV_BLIND_INDEX_KEY:
            weak.append("BLIND_INDEX_KEY")
        if weak:
            raise RuntimeError(
                "Refusing to start in production with development values for: " + ", ".join(weak)
            )


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def _coerce(raw: str, default):
    # The type of the default decides how the environment's string is read.
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, dict | list):
        return json.loads(raw)
    return raw


def load(config_name: str | None = None) -> Config:
    """The configuration for APP_ENV (or the name given), with environment overrides applied."""
    name = config_name or os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown APP_ENV {name!r}; expected one of {sorted(CONFIGS)}")
    config = CONFIGS[name]()
    for key in dir(config):
        if key.isupper() and key in os.environ:
            setattr(config, key, _coerce(os.environ[key], getattr(config, key)))
    config.APP_ENV = name
    config.check()
    return config
