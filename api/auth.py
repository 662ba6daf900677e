"""Token checks for views: @auth_required(role=...) and current_user()."""
import copy
import functools

from flask import current_app, g, request

from common.i18n import current_locale
from services.errors import Forbidden, Unauthorized
from services.identity import revocation
from services.identity.tokens import PARTNER_ROLE, Principal, decode_access_token

BEARER_SECURITY = [{"bearerAuth": []}]


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def authenticate() -> Principal:
    principal = decode_access_token(_bearer_token())
    if revocation.is_revoked(subject_id=principal.id, session_id=principal.session,
                             issued_ms=principal.issued_ms):
        raise Unauthorized("This access token was revoked; sign in again.",
                           "访问令牌已被撤销，请重新登录。", error="token_revoked",
                           headers={"WWW-Authenticate": 'Bearer realm="onething", '
                                                        'error="invalid_token"'})
    g.principal = principal
    if not g.get("locale_from_header"):
        current_locale.set(principal.locale)
    return principal


def _as_set(value) -> set[str] | None:
    if value is None:
        return None
    return {str(v) for v in (value if isinstance(value, list | tuple | set | frozenset)
                             else [value])}


def _allowed(principal: Principal, roles: set[str] | None, scopes: set[str] | None) -> bool:
    if principal.is_partner:
        # A partner token opens a route only through a scope it holds (or an explicit role).
        return bool(roles and PARTNER_ROLE in roles) or bool(scopes and
                                                             scopes & set(principal.scopes))
    if roles is None:
        return not scopes  # a route for partners only (scope, no role) is closed to users
    return principal.role in roles


def auth_required(role=None, scope=None, province=False):
    """Require a valid access token (else 401), and one of the given roles if any (else 403).

    With neither, any citizen or staff token passes; partner tokens pass only where `scope`
    names a scope they hold (`scope` without `role`: partners only). `province`: staff scoped to
    a region (an admin of a county) are refused, the route manages what is the province's.
    Objects that exist but are not the caller's are the services' business: they answer 404.
    """
    roles, scopes = _as_set(role), _as_set(scope)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if not _allowed(principal, roles, scopes):
                if principal.is_partner:
                    raise Forbidden("This token's scopes do not allow this.",
                                    "该令牌的权限范围不允许此操作。", error="insufficient_scope")
                raise Forbidden()
            if province and principal.region:
                raise Forbidden("This is managed for the whole province; your account manages "
                                "{r} only.", "此项由省级统一管理，您的账号仅管理 {r}。",
                                error="province_admin_only", r=principal.region)
            if principal.is_partner and principal.load_partner() is None:
                raise Unauthorized("The partner is disabled.", "该合作方已停用。",
                                   error="invalid_token")
            return view(*args, **kwargs)

        # Declare the bearer scheme on the operation in the OpenAPI document.
        apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = BEARER_SECURITY
        # Who may call, for the operation's description (api/openapi_contract.py).
        manual["x-roles"] = sorted(roles) if roles else None
        manual["x-scopes"] = sorted(scopes) if scopes else None
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


def current_user() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized()
    return principal


def client_address() -> str:
    """The caller's address: behind TRUSTED_PROXY_COUNT proxies, the one they saw."""
    proxies = int(current_app.config.get("TRUSTED_PROXY_COUNT", 0))
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")
                 if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.remote_addr or "-"
