"""The OpenAPI document tells the truth about errors, derived from what each route declares.

Every route gets the error answers it can really give without anyone listing them by hand: a
route with a bearer token answers 401 and 403, one with an id in its path 404, one with a body
400, 413 and 422, one that takes an `Idempotency-Key` 428, one that takes `If-Match` 412, and
every route 422 (the input guards read every query string) and 503 (the database away). What
a route documents itself (`documented(...)`, `alt_response`) is kept; an error it declares
without a body gets the one error shape. A route added tomorrow is documented the same way.
"""
from apispec import BasePlugin

from api.errors import GENERIC
from api.schemas.errors import ApiErrorSchema, example
from api.schemas.examples import REQUEST_EXAMPLES

ERROR_SCHEMA_NAME = "Error"
METHODS = {"get", "put", "post", "patch", "delete"}

# Status → (component name, description, example slug, example message).
ERRORS = {
    400: ("BAD_REQUEST", "The body is not JSON, or nested deeper than 32 levels "
                         "(`bad_request`, `json_too_deep`).",
          "json_too_deep", "The JSON body is nested deeper than 32 levels."),
    401: ("UNAUTHORIZED", "No access token, or one that is invalid, expired or revoked "
                          "(`unauthorized`, `invalid_token`, `token_revoked`); see "
                          "`WWW-Authenticate`.",
          "unauthorized", "Authentication is required."),
    403: ("FORBIDDEN", "The token is valid but its role or scopes do not open this route "
                       "(`forbidden`, `insufficient_scope`, `province_admin_only`).",
          "forbidden", "You may not do this."),
    404: ("NOT_FOUND", "No such object, or not yours: both look the same (`not_found` or a "
                       "more precise `…_not_found`).",
          "not_found", "Not found."),
    412: ("PRECONDITION_FAILED", "`If-Match` names a version that is not the current one "
                                 "(`version_mismatch`).",
          "version_mismatch", 'If-Match must be an ETag read from this API, like "v3".'),
    413: ("PAYLOAD_TOO_LARGE", "The body is larger than the server accepts "
                               "(`payload_too_large`).",
          "payload_too_large", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The file is not of an accepted type "
                                    "(`unsupported_media_type`).",
          "unsupported_media_type", "Only JPEG, PNG, HEIC photos and PDF documents are accepted."),
    422: ("UNPROCESSABLE_ENTITY", "Some fields, query parameters or headers are not valid "
                                  "(including characters no text may hold); `errors` names "
                                  "each (`validation_failed` or a more precise slug).",
          "validation_failed", "Some fields are not valid."),
    428: ("PRECONDITION_REQUIRED", "A required header is missing "
                                   "(`idempotency_key_required`).",
          "idempotency_key_required", "The Idempotency-Key header is required."),
    503: ("SERVICE_UNAVAILABLE", "The database (`database_unavailable`, with `Retry-After`) "
                                 "or an outside service the operation needs does not answer; "
                                 "try again later.",
          "database_unavailable", "The service is temporarily unavailable."),
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "schema": {"type": "integer"}}}


def _error_response(code: int, description: str | None = None) -> dict:
    _, default_description, slug, message = ERRORS.get(code, (None, None, None, None))
    if slug is None:
        slug, message, _ = GENERIC.get(code, GENERIC[400])
    response = {
        "description": description or default_description,
        "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"},
            "example": example(code, slug, message,
                               {"phone": ["Not a valid string."]} if code == 422 else None)}},
    }
    if code in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def _derived_codes(path: str, operation: dict) -> set[int]:
    codes = {422, 503}
    if operation.get("security"):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    body = operation.get("requestBody")
    if body:
        codes |= {400, 413}
        if "multipart/form-data" in body.get("content", {}):
            codes.add(415)
    headers = {p.get("name", "").lower(): p for p in operation.get("parameters", [])
               if isinstance(p, dict) and p.get("in") == "header"}
    if headers.get("idempotency-key", {}).get("required"):
        codes.add(428)
    if "if-match" in headers:
        codes.add(412)
    return codes


def _schema_name(schema) -> str | None:
    # By now the marshmallow plugin has replaced the body's schema by its reference.
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return None


def _add_examples(body: dict) -> None:
    for content in body.get("content", {}).values():
        name = _schema_name(content.get("schema"))
        if "example" not in content and name in REQUEST_EXAMPLES:
            content["example"] = REQUEST_EXAMPLES[name]


def _callers(operation: dict) -> str:
    # Kept in the document for tools (x-roles, x-scopes); left out when any caller will do.
    for key in ("x-roles", "x-scopes"):
        if not operation.get(key):
            operation.pop(key, None)
    roles, scopes = operation.get("x-roles"), operation.get("x-scopes")
    if not operation.get("security"):
        return "Open to anyone, no token needed. 无需登录。"
    who = ", ".join(roles) if roles else "any signed-in citizen or staff member"
    if scopes:
        who += f"; partners holding scope {', '.join(scopes)}"
    return f"Bearer token of: {who}. 需要登录。"


class ErrorResponsesPlugin(BasePlugin):
    """Adds the derived error answers, request examples and a caller line to every operation."""

    def init_spec(self, spec) -> None:
        # The error shape api/errors.py answers with, under the name clients already know.
        spec.components.schema(ERROR_SCHEMA_NAME, schema=ApiErrorSchema)
        for code, (name, *_) in ERRORS.items():
            spec.components.response(f"{name}_ERROR", _error_response(code))

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = {("default" if str(k) == "default" else str(int(k))): v
                         for k, v in operation.get("responses", {}).items()}
            responses.pop("default", None)  # every error is named: none is left to a catch-all
            for code in _derived_codes(path, operation):
                responses.setdefault(str(code), f"{ERRORS[code][0]}_ERROR")
            for code, response in list(responses.items()):
                responses[code] = self._with_error_shape(int(code), response)
            operation["responses"] = responses
            if operation.get("requestBody"):
                _add_examples(operation["requestBody"])
            callers = _callers(operation)
            description = operation.get("description", "").strip()
            operation["description"] = f"{description}\n\n{callers}" if description else callers

    @staticmethod
    def _with_error_shape(code: int, response):
        if code < 400:
            return response
        if isinstance(response, str):
            # flask-smorest's generic names (UNPROCESSABLE_ENTITY) become ours, with examples.
            return f"{ERRORS[code][0]}_ERROR" if code in ERRORS else _error_response(code)
        if isinstance(response, dict) and not response.get("content"):
            return {**_error_response(code, response.get("description")),
                    **{k: v for k, v in response.items() if k != "description"}}
        return response
