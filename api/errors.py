"""The one error shape of API.md for every error, in the caller's language, never a traceback."""
import logging
from http import HTTPStatus

import mongoengine
import pymongo.errors
from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

from common.i18n import current_locale
from services.errors import DomainError

log = logging.getLogger(__name__)

# Status code → (slug, English, Chinese) for errors raised by Flask, werkzeug or webargs.
GENERIC = {
    400: ("bad_request", "The request is malformed.", "请求格式有误。"),
    401: ("unauthorized", "Authentication is required.", "需要登录。"),
    403: ("forbidden", "You may not do this.", "无权执行此操作。"),
    404: ("not_found", "Not found.", "未找到。"),
    405: ("method_not_allowed", "This method is not allowed here.", "不支持该请求方法。"),
    409: ("conflict", "The request conflicts with the current state.", "请求与当前状态冲突。"),
    412: ("precondition_failed", "The resource has changed.", "资源已被修改。"),
    413: ("payload_too_large", "The request body is too large.", "请求内容过大。"),
    415: ("unsupported_media_type", "This content type is not accepted.", "不支持该内容类型。"),
    422: ("validation_failed", "Some fields are not valid.", "部分字段无效。"),
    428: ("precondition_required", "A required header is missing.", "缺少必需的请求头。"),
    429: ("too_many_requests", "Too many requests; try again later.", "请求过于频繁，请稍后再试。"),
    500: ("internal_error", "Something went wrong on our side.", "服务器内部错误。"),
    503: ("service_unavailable", "The service is temporarily unavailable.", "服务暂时不可用。"),
}

# marshmallow's most common messages, so a Chinese-speaking user reads Chinese field errors too.
FIELD_MESSAGES_ZH = {
    "Missing data for required field.": "缺少必填字段。",
    "Unknown field.": "未知字段。",
    "Field may not be null.": "字段不能为空。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid integer.": "不是有效的整数。",
    "Not a valid number.": "不是有效的数字。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid date.": "不是有效的日期。",
    "Not a valid datetime.": "不是有效的日期时间。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid mapping type.": "不是有效的对象。",
    "Invalid input type.": "输入类型无效。",
    "Invalid value.": "值无效。",
    "Shorter than minimum length 1.": "不能为空。",
    "String does not match expected pattern.": "格式不正确。",
    "Must be one of: {choices}.": "必须是以下之一：{choices}。",
}
LOCATIONS = {"json", "query", "form", "files", "multipart", "headers", "view_args", "path",
             "cookies"}


def _localize(messages):
    if current_locale.get() != "zh-CN":
        return messages
    if isinstance(messages, dict):
        return {key: _localize(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_localize(value) for value in messages]
    if isinstance(messages, str):
        return FIELD_MESSAGES_ZH.get(messages, messages)
    return messages


def _field_errors(messages) -> dict:
    """webargs nests errors by location ({"json": {...}}); clients want them by field."""
    if not messages:
        return {}
    if isinstance(messages, list | str):
        return {"_schema": messages if isinstance(messages, list) else [messages]}
    if set(messages) <= LOCATIONS:
        merged: dict = {}
        for location_errors in messages.values():
            merged.update(_field_errors(location_errors))
        return merged
    return messages


def error_response(code: int, error: str, message: str, errors: dict | None = None,
                   headers: dict | None = None):
    body = {"code": code, "status": HTTPStatus(code).phrase, "error": error,
            "message": message, "errors": _localize(errors or {})}
    response = jsonify(body)
    response.status_code = code
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if code == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="onething"'
    return response


def _generic(code: int, **kwargs):
    slug, en, zh = GENERIC.get(code, GENERIC[500] if code >= 500 else GENERIC[400])
    message = zh if current_locale.get() == "zh-CN" else en
    return error_response(code, kwargs.pop("error", slug), message, **kwargs)


def handle_domain_error(exc: DomainError):
    return error_response(exc.status_code, exc.error, exc.message, exc.errors, exc.headers)


def handle_http_exception(exc: HTTPException):
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = {k: v for k, v in exc.get_headers() if k.lower() in {"allow", "www-authenticate",
                                                                 "retry-after"}}
    headers.update(data.get("headers") or {})
    return _generic(code, errors=_field_errors(data.get("messages") or data.get("errors")),
                    headers=headers)


def handle_database_unavailable(exc: Exception):
    log.warning("database unavailable: %s", type(exc).__name__)
    return _generic(503, error="database_unavailable", headers={"Retry-After": "5"})


def handle_unexpected(exc: Exception):
    log.exception("unhandled error (request %s)", getattr(g, "request_id", "-"))
    return _generic(500)


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(mongoengine.DoesNotExist, lambda exc: _generic(404))
    app.register_error_handler(
        mongoengine.ValidationError,
        lambda exc: _generic(422, errors={k: [str(v)] for k, v in (exc.to_dict() or {}).items()}),
    )
    app.register_error_handler(pymongo.errors.DuplicateKeyError, lambda exc: _generic(409))
    app.register_error_handler(mongoengine.NotUniqueError, lambda exc: _generic(409))
    for unavailable in (pymongo.errors.ServerSelectionTimeoutError, pymongo.errors.AutoReconnect,
                        pymongo.errors.ConnectionFailure, pymongo.errors.NetworkTimeout):
        app.register_error_handler(unavailable, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
