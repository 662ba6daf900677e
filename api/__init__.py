"""HTTP only: create_app() builds the Flask app, its OpenAPI docs and every blueprint of api/."""
import importlib
import logging
import pkgutil
import re
import threading
import uuid

import swagger_ui_bundle
from flask import Flask, g, request, send_from_directory
from flask_cors import CORS
from flask_smorest import Api
from pymongo.errors import ConnectionFailure

import config as settings
from api import errors, input_guards
from api.openapi_contract import ErrorResponsesPlugin
from api.schemas.errors import ApiErrorSchema
from assistant import conversations
from cli import register_commands
from common import calendar, db_metrics, log_setup, run_state
from common.embedded_db import DatabaseInUse, EmbeddedDatabase
from common.i18n import current_locale, negotiate
from models import calendar_year
from models.connection import connect, ensure_indexes, retries_deduplicated
from services.catalogue import search_index
from web import blp as web_pages

log = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Started by create_app when no MONGODB_URI is given; one per process.
_embedded: EmbeddedDatabase | None = None


def _database_uri(config) -> str:
    """MONGODB_URI; else the database of the `make run` running on EMBEDDED_DB_PATH (a command
    run by hand beside it); else an embedded server of this process's own."""
    global _embedded
    if config.MONGODB_URI:
        return config.MONGODB_URI
    running = run_state.running(config.EMBEDDED_DB_PATH)
    if running is not None:
        log.info("using the database of the launcher running beside (pid %s): %s",
                 running["pid"], running["mongodb_uri"])
        return running["mongodb_uri"]
    if _embedded is None:
        try:
            _embedded = EmbeddedDatabase(config.EMBEDDED_DB_PATH,
                                         cache_size=config.EMBEDDED_DB_CACHE_SIZE)
            _embedded.start()
        except DatabaseInUse:
            _embedded = None
            raise settings.StartupError(
                f"Another process holds the embedded database in {config.EMBEDDED_DB_PATH} and "
                "says nothing of where it serves it: set MONGODB_URI to its address, or stop "
                "it") from None
    return _embedded.uri


def _redacted(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)


class ContractApi(Api):
    """The API's document: errors in the one shape, each named, none left to a catch-all."""

    ERROR_SCHEMA = ApiErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def _register_blueprints(api: Api) -> None:
    # Every module of api/ that defines `blp` is a resource: adding a file adds its routes.
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.ispkg:
            continue
        blueprint = getattr(importlib.import_module(f"api.{module.name}"), "blp", None)
        if blueprint is not None:
            api.register_blueprint(blueprint)


def _bind_request_context(app: Flask) -> None:
    @app.before_request
    def request_context():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        log_setup.request_id.set(g.request_id)
        locale = negotiate(request.headers.get("Accept-Language"))
        g.locale_from_header = locale is not None
        current_locale.set(locale or app.config["DEFAULT_LOCALE"])
        db_metrics.reset()

    @app.after_request
    def stamp_response(response):
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        response.headers["Content-Language"] = current_locale.get()
        if app.config["DB_COMMAND_COUNTING"]:
            response.headers["X-DB-Commands"] = str(db_metrics.count())
        # No answer is sniffed into another type or leaks its address to another site; in
        # production every browser is told to come back over HTTPS only.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if app.config["APP_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response


def _allow_cross_origin(app: Flask) -> None:
    # Only the configured web-views' pages may read our answers from a browser; every other
    # origin gets no Access-Control-Allow-Origin, so its browser keeps the answer from it.
    # Tokens travel in the Authorization header, never in cookies: no credentials mode.
    if app.config["CORS_ORIGINS"]:
        CORS(app, resources={r"/api/*": {"origins": list(app.config["CORS_ORIGINS"])}},
             allow_headers=["Authorization", "Content-Type", "Accept-Language",
                            "Idempotency-Key", "If-Match", "X-Request-ID"],
             expose_headers=["Retry-After", "ETag", "Location", "X-Request-ID"],
             supports_credentials=False, max_age=600)

        @app.after_request
        def vary_by_origin(response):
            # Whether the answer carries Access-Control-Allow-Origin depends on the Origin
            # asked from: a cache must not hand one origin's answer to another. flask-cors
            # says so only when several origins are configured.
            if request.path.startswith("/api/"):
                response.vary.add("Origin")
            return response


def _serve_docs_assets(app: Flask) -> None:
    # The interactive docs load Swagger UI from our own server: no CDN, works offline.
    @app.route(app.config["OPENAPI_SWAGGER_UI_URL"] + "<path:filename>")
    def docs_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def create_app(config_name: str | None = None) -> Flask:
    config = settings.load(config_name)
    log_setup.configure(config.LOG_LEVEL, config.LOG_FORMAT)

    app = Flask(__name__)
    app.config.from_object(config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["MONGODB_URI"] = _database_uri(config)
    durable = config.APP_ENV == "production"
    try:
        # Production retries writes, unless its database is the embedded one, which would
        # count each retry twice (models.connection.client_options).
        app.config["DATABASE_RETRIES"] = durable and retries_deduplicated(
            app.config["MONGODB_URI"], config.MONGODB_TIMEOUT_MS)
        connect(app.config["MONGODB_URI"], config.MONGODB_DB, config.MONGODB_TIMEOUT_MS,
                listeners=[db_metrics.CommandCounter()] if config.DB_COMMAND_COUNTING else None,
                durable=durable, retries=app.config["DATABASE_RETRIES"])
        ensure_indexes()
    except ConnectionFailure as exc:
        raise settings.StartupError(
            f"The database at {_redacted(app.config['MONGODB_URI'])} does not answer "
            f"({type(exc).__name__} within {config.MONGODB_TIMEOUT_MS} ms): start it, or set "
            "MONGODB_URI to one that answers") from None
    calendar.add_source(calendar_year.loaded_years)
    for year in calendar.missing_years(app.config):
        log.warning("the holiday calendar does not know %s: load it with `flask calendar "
                    "load-year %s` (or PUBLIC_HOLIDAYS / EXTRA_WORKING_DAYS) once published",
                    year, year)

    api = ContractApi(app, spec_kwargs={
        "info": {"description": "One form, one visit, every department of a life event."},
        "extra_plugins": [ErrorResponsesPlugin()]})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    _bind_request_context(app)
    input_guards.register(app, api)
    _allow_cross_origin(app)
    _serve_docs_assets(app)
    _register_blueprints(api)
    app.register_blueprint(web_pages)  # /app/ and /workbench/: static pages on the API
    errors.register(app)
    register_commands(app)
    if config.ASSISTANT_WARM_UP:
        _warm_up_assistant()
    if config.CATALOGUE_WARM_UP:
        # The first search after a start would otherwise wait for the catalogue's index.
        threading.Thread(target=search_index.warm_up, args=(app,), name="catalogue-warm-up",
                         daemon=True).start()
    return app


def _warm_up_assistant() -> None:
    # Training the assistant's understanding takes a second or two: do it beside start-up,
    # not in the first citizen's request.
    threading.Thread(target=conversations.warm_up, name="assistant-warm-up", daemon=True).start()
