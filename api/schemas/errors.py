"""The one error shape of API.md, for documenting the errors a route answers."""
from http import HTTPStatus

from marshmallow import INCLUDE, Schema, fields


class ApiErrorSchema(Schema):
    """Every error: a stable `error` slug, a message in the caller's language, per-field
    details for 422. Published as `Error`, the shape api/errors.py answers with."""

    class Meta:
        # An error may one day carry more (a retry hint, the conflicting object): clients
        # ignore what they do not know, so the document must not forbid it.
        unknown = INCLUDE

    code = fields.Integer(required=True, dump_only=True, metadata={"description": "HTTP status"})
    status = fields.String(required=True, dump_only=True,
                           metadata={"description": "HTTP reason phrase"})
    error = fields.String(required=True, dump_only=True,
                          metadata={"description": "stable machine slug"})
    message = fields.String(required=True, dump_only=True,
                            metadata={"description": "Chinese or English per Accept-Language"})
    errors = fields.Dict(required=True, dump_only=True,
                         metadata={"description": "per field, for 422 (empty otherwise)"})


def example(code: int, error: str, message: str, errors: dict | None = None) -> dict:
    """An error answer as the API gives it, for the OpenAPI document."""
    return {"code": code, "status": HTTPStatus(code).phrase, "error": error, "message": message,
            "errors": errors or {}}


def documented(blp, code: int, error: str, message: str, errors: dict | None = None,
               description: str | None = None):
    """`@documented(blp, 409, "already_rated", "You have already rated this.")`: the error in
    the route's OpenAPI entry, with an example."""
    return blp.alt_response(code, schema=ApiErrorSchema,
                            description=description or f"{error}: {message}",
                            example=example(code, error, message, errors))
