"""Input made safe at the edge, before any view: JSON too deep, strings no store can hold, page
numbers beyond any page and query parameters an operation does not declare answer 400 or 422 in
the one error shape, never a 500."""
import json
import re
import threading

from flask import Flask, request
from flask_smorest import Api

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


RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class DeclaredQueries:
    """The query parameters each operation declares in the OpenAPI document (its arguments and
    its pagination), read from the document once per process: what it does not declare is
    refused, as an unknown field of a JSON body is, instead of being silently ignored."""

    def __init__(self, api: Api):
        self.api = api
        self.by_operation: dict[tuple[str, str], frozenset[str]] | None = None
        self.lock = threading.Lock()

    def _read(self) -> dict[tuple[str, str], frozenset[str]]:
        operations = {}
        for path, item in self.api.spec.to_dict().get("paths", {}).items():
            shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
            for method, operation in item.items():
                if method == "parameters" or not isinstance(operation, dict):
                    continue
                parameters = shared + list(operation.get("parameters", []))
                operations[(path, method.upper())] = frozenset(
                    p["name"] for p in parameters
                    if isinstance(p, dict) and p.get("in") == "query")
        return operations

    def allowed(self, rule: str, method: str) -> frozenset[str] | None:
        """None: an operation the document does not describe (pages, health, docs)."""
        if self.by_operation is None:
            with self.lock:
                if self.by_operation is None:
                    self.by_operation = self._read()
        return self.by_operation.get((RULE_PARAMETER.sub(r"{\1}", rule), method))


def _check_declared_query(declared: DeclaredQueries) -> None:
    if not request.args or request.url_rule is None or request.method in ("HEAD", "OPTIONS"):
        return
    allowed = declared.allowed(request.url_rule.rule, request.method)
    if allowed is None:
        return
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        message = text("Unknown parameter.", "未知的参数。")
        raise ValidationFailed(errors={"query": {name: [message] for name in unknown}})


def register(app: Flask, api: Api) -> None:
    declared = DeclaredQueries(api)

    @app.before_request
    def guard_input():
        _check_query()
        _check_declared_query(declared)
        if request.is_json:
            _check_json_body()
