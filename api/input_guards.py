"""Input made safe at the edge, before any view: JSON too deep, strings no store can hold, and
page numbers beyond any page answer 400 or 422 in the one error shape, never a 500."""
import json
import re

from flask import Flask, request

from common.i18n import text
from services.errors import BadRequest, ValidationFailed

MAX_JSON_DEPTH = 32
MAX_PAGE, MAX_PAGE_SIZE = 10_000, 100
# Lone surrogates cannot be encoded for storage or logs; control characters (other than tab
# and line breaks) have no place in what a person types.
UNSAFE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def _too_deep(raw: bytes) -> bool:
    depth = 0
    for char in STRINGS.sub(b"", raw).translate(None, b" \t\r\n,:0123456789.-+eEtrufalsn"):
        depth += 1 if char in b"[{" else -1 if char in b"]}" else 0
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _unsafe_field(value, path: str = "") -> str | None:
    """The path of the first string (or key) that holds a lone surrogate or a control character."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if UNSAFE.search(item):
                return where or "_schema"
        elif isinstance(item, dict):
            for key, child in item.items():
                if UNSAFE.search(key):
                    return where or "_schema"
                stack.append((f"{where}.{key}" if where else key, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), child)
                         for i, child in enumerate(item))
    return None


def _check_json_body() -> None:
    raw = request.get_data(cache=True)
    if not raw:
        return
    if _too_deep(raw):
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.",
                         f"JSON 请求体的嵌套层数超过 {MAX_JSON_DEPTH} 层。", error="json_too_deep")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return  # malformed JSON: the parser of the view answers it (400)
    field = _unsafe_field(body)
    if field:
        message = text("Contains characters that are not allowed.", "包含不允许的字符。")
        raise ValidationFailed(errors={field.split(".")[0]: [message]})


def _check_query() -> None:
    fields = {}
    for name in request.args:
        if UNSAFE.search(name) or any(UNSAFE.search(v) for v in request.args.getlist(name)):
            fields[name] = [text("Contains characters that are not allowed.", "包含不允许的字符。")]
    for name, limit in (("page", MAX_PAGE), ("page_size", MAX_PAGE_SIZE)):
        value = request.args.get(name, "")
        if value.isascii() and value.isdigit() and int(value) > limit:
            fields[name] = [text("At most {n}.", "最大为 {n}。", n=limit)]
    if fields:
        raise ValidationFailed(errors=fields)


def register(app: Flask) -> None:
    @app.before_request
    def guard_input():
        _check_query()
        if request.is_json:
            _check_json_body()
