"""Settings per environment, chosen by APP_ENV; each one is overridable from the environment."""
import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Values that only ever exist in this repository: production refuses to start with any of them.
DEV_SECRET = "dev-secret-do-not-use-in-production"  # noqa: S105  # nosec B105  # production refuses it (check())
DEV_JWT_KEYS = {"dev1": "dev-jwt-key-do-not-use-in-production-0001"}
DEV_DATA_KEYS = {"dev1": "ZGV2LWRhdGEta2V5LWRvLW5vdC11c2UtaW4tcHJvZC0="}
DEV_BLIND_INDEX_KEY = "dev-blind-index-key-do-not-use-in-production"


class StartupError(RuntimeError):
    """The app cannot start as configured; the message says, in one line, what to set."""


# A floor against a mistyped unit: a cache of a few megabytes would hold less than one batch of
# 500 bulk-inserted applications (≈ 8 MB).
MIN_CACHE_MEGABYTES = 64
CACHE_SIZE = re.compile(r"([1-9][0-9]*)([MG])")


def cache_megabytes(size: str) -> int | None:
    """A cache size as the embedded server reads it ("512M", "2G") in megabytes; None when it is
    not one (the server would silently fall back to its 1 GB default) or is below the floor."""
    found = CACHE_SIZE.fullmatch(size.strip().upper()) if isinstance(size, str) else None
    if found is None:
        return None
    megabytes = int(found[1]) * (1024 if found[2] == "G" else 1)
    return megabytes if megabytes >= MIN_CACHE_MEGABYTES else None


class Config:
    APP_ENV = "development"
    SECRET_KEY = DEV_SECRET
    # Unset: start the embedded MongoDB-compatible server under EMBEDDED_DB_PATH.
    MONGODB_URI = ""
    MONGODB_DB = "onething"
    MONGODB_TIMEOUT_MS = 3000
    EMBEDDED_DB_PATH = str(ROOT / "var" / "db")
    # The embedded server's WiredTiger cache ("512M", "2G"): the most memory it keeps of the
    # data and indexes. An upper bound, filled as data is read. 512M holds the working set of
    # `make run` (seed and thousands of applications, ≈ 16 KB each) and leaves a 2 GB machine
    # room for the API's processes; a host that stores 100,000 applications gives it 4G (they
    # are ≈ 1.5 GB; docs/scaling.md, "The server's cache and its oplog"). A MongoDB server sizes
    # its own cache.
    EMBEDDED_DB_CACHE_SIZE = "512M"
    PORT = 5000
    # `make run` / `make serve`: how often the sweeps run beside the API and the worker, and
    # whether a simulator works the departments' queues (never in production).
    WORKFLOW_SWEEP_SECONDS = 60
    MATERIALS_SWEEP_SECONDS = 3600
    LOOP_SWEEP_SECONDS = 30
    SIMULATE_DEPARTMENTS = False
    SIMULATE_SPEED = 60.0

    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"  # "json": one object per line
    DEFAULT_LOCALE = "zh-CN"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    # Materials: one upload's size and pixel limits, each citizen's vault quota, how long an
    # officer's signed download link lives, and how old an orphan file must be to be swept.
    MATERIAL_MAX_BYTES = 8 * 1024 * 1024
    MATERIAL_MAX_PIXELS = 40_000_000
    MATERIAL_QUOTA_COUNT = 200
    MATERIAL_QUOTA_BYTES = 500 * 1024 * 1024
    MATERIAL_LINK_TTL = 300
    MATERIAL_SWEEP_GRACE = 3600

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

    # Staff passwords: argon2id cost, and the lockout after repeated failures.
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_KIB = 65536
    PASSWORD_HASH_PARALLELISM = 2
    STAFF_LOGIN_MAX_FAILURES = 5
    STAFF_LOCKOUT_SECONDS = 900
    # SMS one-time codes; the send limits are counted in the database, shared by every process.
    OTP_TTL = 300
    OTP_MAX_ATTEMPTS = 5
    OTP_PHONE_PER_MINUTE = 1
    OTP_PHONE_PER_DAY = 10
    OTP_CLIENT_PER_HOUR = 30
    OTP_DEBUG_CODE = True  # answer the code itself (development and tests only)
    # Per citizen, every attempt counted (flask-limiter's notation, moving windows): far above a
    # family's needs (a newborn is one application and four uploads), far below a script's. One
    # window each: each window is one more database command per request.
    RATE_LIMIT_APPLICATIONS = "20 per hour"
    RATE_LIMIT_UPLOADS = "100 per hour"
    # SMS gateway: "development" logs a masked number; "http" posts to SMS_GATEWAY_URL.
    SMS_ADAPTER = "development"
    SMS_GATEWAY_URL = ""
    SMS_GATEWAY_KEY = ""
    SMS_GATEWAY_SECRET = ""  # nosec B105  # empty: set from the environment
    SMS_SIGN_NAME = "一件事"
    SMS_TIMEOUT = 5.0
    # Mini-program sign-in: "development" derives an id from the code offline; "http" exchanges it
    # with the platform at its base_url.
    MINIPROGRAM_ADAPTER = "development"
    MINIPROGRAM_PLATFORMS = {
        "wechat": {"base_url": "https://api.weixin.qq.com", "app_id": "", "app_secret": ""},  # nosec B105  # empty: set from the environment
        # private_key: ours, signs requests; public_key: Alipay's, verifies its answers.
        "alipay": {"base_url": "https://openapi.alipay.com", "app_id": "", "private_key": "",
                   "public_key": ""},
    }
    MINIPROGRAM_TIMEOUT = 5.0
    MINIPROGRAM_TICKET_TTL = 600
    PARTNER_TOKEN_TTL = 900
    # Proxies (load balancers) in front of the app whose X-Forwarded-For is trusted.
    TRUSTED_PROXY_COUNT = 0
    # Sites whose pages may call the API from a browser (the mini-programs' web-views), exact
    # origins such as "https://h5.example.gov.cn"; none by default: the apps call it directly.
    CORS_ORIGINS = []

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
    ASSISTANT_WARM_UP = True  # train the assistant at start-up, beside serving

    # Working-day calendar for time limits: ISO dates, local to CALENDAR_TIMEZONE.
    CALENDAR_TIMEZONE = "Asia/Shanghai"
    # The State Council's schedule comes from the chinese-calendar package; these add or replace
    # whole years it does not know yet (JSON lists of ISO dates).
    PUBLIC_HOLIDAYS: list[str] = []
    EXTRA_WORKING_DAYS: list[str] = []
    CALENDAR_REFRESH_SECONDS = 60.0
    # How soon another process refuses a token revoked here (this one refuses it at once).
    REVOCATION_REFRESH_SECONDS = 1.0
    # Predicted completion: medians of handling times over this many days, reused this long.
    ETA_HISTORY_DAYS = 90
    ETA_CACHE_SECONDS = 300
    # The workbench lists and counts finished tasks (completed, rejected, cancelled) of this
    # many last days: what it reads stays a few days' work, however long the history.
    WORKBENCH_FINISHED_DAYS = 7
    # The service desk lists the conversations closed in this many last days: the embedded
    # server counts and sorts a list by reading every document it matches.
    DESK_CLOSED_DAYS = 30
    # Seconds a citizen's consent (their texted code, entered by a station clerk) stays valid.
    STATION_CONSENT_TTL = 1800
    # Seconds each process reuses where the catalogue stands (its revision) before asking the
    # database again: a catalogue change made by another process shows within this time.
    CATALOGUE_STATE_TTL = 2.0
    # Prepare the catalogue's search index at start, beside serving, so the first search after a
    # start does not pay for it; and leave snapshots of it in the database for the next process
    # to start from (reading every matter again is what takes long).
    CATALOGUE_WARM_UP = True
    CATALOGUE_INDEX_SNAPSHOTS = True
    # Where a citizen who chose no region applies (a GB/T 2260 code): Ruian in development and
    # tests; none in production, where such an application is refused asking for a region.
    DEFAULT_REGION = "330381"

    # Idempotency keys of station clerks' applications: kept this long, a request holding one is
    # taken over after LOCK seconds (its process died), a concurrent retry waits up to WAIT
    # seconds. (A citizen's application is itself the record of its key.)
    IDEMPOTENCY_TTL_HOURS = 24
    IDEMPOTENCY_LOCK_SECONDS = 30
    IDEMPOTENCY_WAIT_SECONDS = 5.0

    # Notifications worker: a claimed delivery's lease, how many per round, idle polling, the
    # retry budget and its backoff (doubling from BASE up to MAX seconds, jittered).
    NOTIFICATION_LEASE_SECONDS = 60
    NOTIFICATION_BATCH_SIZE = 100
    NOTIFICATION_POLL_SECONDS = 0.1
    # With WAKE_ON_CHANGES one change stream on the database wakes an idle worker the moment an
    # outbox gains an intent (and nothing else wakes it), and it looks only every WATCHED_POLL
    # seconds for what comes due by the clock (retries, quiet hours' end). On the embedded
    # server (python -m bench.wake_cost): idle 2.0 → 0.7 database CPU-s a minute, and no more
    # than polling under 20 writes a second; a standalone MongoDB refuses change streams and the
    # worker polls every POLL_SECONDS instead.
    NOTIFICATION_WAKE_ON_CHANGES = True
    NOTIFICATION_WATCHED_POLL_SECONDS = 1.0
    NOTIFICATION_MAX_ATTEMPTS = 8
    NOTIFICATION_BACKOFF_BASE = 5.0
    NOTIFICATION_BACKOFF_MAX = 900.0
    # Must-not-miss events go by SMS once push has failed this long (or at once without devices).
    NOTIFICATION_SMS_FALLBACK_AFTER = 600
    NOTIFICATION_TIMEZONE = "Asia/Shanghai"  # quiet hours' clock unless the citizen sets one
    NOTIFICATION_DELIVERY_RETENTION_DAYS = 30  # delivery records (not the inbox) kept this long
    MAX_DEVICES_PER_USER = 10
    # FCM: a service-account JSON (path or the JSON itself); unset, pushes are only logged.
    FCM_CREDENTIALS = ""
    FCM_BASE_URL = "https://fcm.googleapis.com"
    FCM_PROJECT_ID = ""  # unset: the service account's project
    FCM_TIMEOUT = 10.0
    FCM_BATCH_SIZE = 500
    # Mini-program subscription messages: {"wechat": {"<intent type>": "<template id>"}, ...};
    # MINIPROGRAM_PAGE opens the application ("{application}" is replaced by its id).
    MINIPROGRAM_TEMPLATES = {"wechat": {}, "alipay": {}}
    MINIPROGRAM_PAGE = "pages/applications/detail?id={application}"
    MINIPROGRAM_SUBSCRIPTION_CAP = 50  # one-time sends counted per template at most
    WEBHOOK_TIMEOUT = 5.0
    WEBHOOK_REPLAY_MAX_DAYS = 7
    WEBHOOK_REPLAY_LIMIT = 1000
    # GET /me/events: the stream ends after MAX seconds (clients reconnect with Last-Event-ID)
    # and sends a heartbeat every HEARTBEAT seconds; each process's hub looks at the inbox once
    # every POLL seconds for all the streams it holds (services.inbox.event_hub).
    SSE_MAX_SECONDS = 300
    SSE_POLL_SECONDS = 0.25
    SSE_HEARTBEAT_SECONDS = 15.0

    # Where a citizen who has chosen no region is served (Ruian, where "one thing" began).
    DEFAULT_REGION = "330381"
    # The service desk (people behind the assistant): open on working days between these local
    # times (CALENDAR_TIMEZONE); a conversation waiting longer than WAIT_ALERT seconds of opening
    # time is flagged to the region's agents by `flask desk sweep`.
    DESK_OPENS = "09:00"
    DESK_CLOSES = "17:00"
    DESK_WAIT_ALERT_SECONDS = 600
    # Ratings (好差评): a rating of 2 or less opens a rectification case for the department, due
    # this many working days later (a chosen default, see the README).
    RECTIFICATION_DUE_WORKING_DAYS = 15
    # The workbench lists the cases resolved in this many last days (the server sorts and counts
    # a list by reading every document it matches).
    RECTIFICATIONS_RESOLVED_DAYS = 90
    # Proactive offers: how long an offer (and a life event kept for a parent without an account
    # yet) stays open after the event reached us, and each region's enrolment season
    # ("MM-DD" dates; "*" for regions not named): children who reach 3 (kindergarten) or 6
    # (school) by `age_on` get the offer on `opens`, open until `closes`.
    OFFER_TTL_DAYS = 30
    ENROLMENT_SEASONS = {"*": {"opens": "05-01", "closes": "07-31", "age_on": "08-31"}}
    # The service loop's sweeps (`flask loop sweep`): seconds before another process finishes a
    # figures roll-up or a notification forward that a dead process left half done.
    LOOP_SWEEP_GRACE_SECONDS = 120

    # The chat assistant may have an OpenAI-compatible chat API reword its grounded answers.
    # Off unless enabled and given a base URL (e.g. http://127.0.0.1:8000/v1); never in tests.
    ASSISTANT_LLM_ENABLED = False
    ASSISTANT_LLM_BASE_URL = ""
    ASSISTANT_LLM_MODEL = ""
    ASSISTANT_LLM_API_KEY = ""
    ASSISTANT_LLM_TIMEOUT = 3.0

    def check(self) -> None:
        """Refuse a configuration that cannot work; extended where stricter rules apply."""
        if cache_megabytes(self.EMBEDDED_DB_CACHE_SIZE) is None:
            raise StartupError(
                f"EMBEDDED_DB_CACHE_SIZE must be a size in megabytes or gigabytes, at least "
                f"{MIN_CACHE_MEGABYTES}M, such as 512M or 2G (got {self.EMBEDDED_DB_CACHE_SIZE!r})")


class DevelopmentConfig(Config):
    APP_ENV = "development"


class TestConfig(Config):
    APP_ENV = "test"
    TESTING = True
    MONGODB_DB = "onething_test"
    LOG_LEVEL = "WARNING"
    DEV_SEED = False
    # Cheap password hashing: the tests sign staff in often.
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 1024
    PASSWORD_HASH_PARALLELISM = 1
    DB_COMMAND_COUNTING = True
    ASSISTANT_WARM_UP = False
    CATALOGUE_WARM_UP = False
    CATALOGUE_INDEX_SNAPSHOTS = False  # a background writer would race each test's clean-up
    ETA_CACHE_SECONDS = 0  # each test starts from empty collections: never reuse old medians
    CATALOGUE_STATE_TTL = 0.0  # tests edit the catalogue and expect to see it at once
    SSE_MAX_SECONDS = 2
    SSE_POLL_SECONDS = 0.1
    SSE_HEARTBEAT_SECONDS = 0.5
    # Tests drive the worker's rounds themselves; those about waking turn the stream on.
    NOTIFICATION_WAKE_ON_CHANGES = False


class ProductionConfig(Config):
    APP_ENV = "production"
    LOG_FORMAT = "json"
    DEV_SEED = False
    OTP_DEBUG_CODE = False
    SMS_ADAPTER = "http"
    MINIPROGRAM_ADAPTER = "http"
    DEFAULT_REGION = ""

    def check(self) -> None:
        super().check()
        weak = []
        if self.SECRET_KEY == DEV_SECRET or len(self.SECRET_KEY) < 32:
            weak.append("SECRET_KEY")
        if set(self.JWT_KEYS.values()) & set(DEV_JWT_KEYS.values()):
            weak.append("JWT_KEYS")
        if set(self.DATA_KEYS.values()) & set(DEV_DATA_KEYS.values()):
            weak.append("DATA_KEYS")
        if self.BLIND_INDEX_KEY == DEV_BLIND_INDEX_KEY:
            weak.append("BLIND_INDEX_KEY")
        # Development conveniences that would leak codes or create known accounts.
        weak += [name for name in ("OTP_DEBUG_CODE", "DEV_SEED") if getattr(self, name)]
        if weak:
            raise StartupError(
                "Refusing to start in production with development values for: " + ", ".join(weak)
            )
        if not self.MONGODB_URI:
            raise StartupError(
                "Refusing to start in production without MONGODB_URI: set it to the MongoDB "
                "replica set (e.g. mongodb://db1,db2,db3/?replicaSet=rs0); the embedded "
                "database is for development only")
        if self.SIMULATE_DEPARTMENTS:
            raise StartupError("Refusing to start in production with SIMULATE_DEPARTMENTS on")


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
        raise StartupError(f"Unknown APP_ENV {name!r}; expected one of {sorted(CONFIGS)}")
    config = CONFIGS[name]()
    for key in dir(config):
        if key.isupper() and key in os.environ:
            default = getattr(config, key)
            try:
                setattr(config, key, _coerce(os.environ[key], default))
            except ValueError:  # the value itself is not repeated: it may be a secret
                kind = "JSON" if isinstance(default, dict | list) else type(default).__name__
                raise StartupError(f"The environment variable {key} is not a valid {kind}"
                                   ) from None
    config.APP_ENV = name
    config.check()
    return config
