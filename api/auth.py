"""Token checks for views: @auth_required(role=...) and current_user()."""
import copy
import functools

from flask import g, request

from common.i18n import current_locale
from services.errors import Forbidden, Unauthorized
from services.tokens import Principal, decode_access_token

BEARER_SECURITY = [{"bearerAuth": []}]


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def authenticate() -> Principal:
    principal = decode_access_token(_bearer_token())
    g.principal = principal
    if not g.get("locale_from_header"):
        current_locale.set(principal.locale)
    return principal


def auth_required(role=None):
    """Require a valid access token (else 401), and one of the given roles if any (else 403).

    Objects that exist but are not the caller's are the services' business: they answer 404.
    """
    roles = None if role is None else {str(r) for r in (role if isinstance(role, list | tuple |
                                                                          set) else [role])}

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if roles is not None and principal.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        # Declare the bearer scheme on the operation in the OpenAPI document.
        apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {})["security"] = BEARER_SECURITY
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


def current_user() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized()
    return principal
