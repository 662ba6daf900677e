"""Access tokens: short-lived JWTs signed with the active key, verified by key id so keys rotate."""
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app

from models.partner import Partner
from models.user import User
from services.errors import Unauthorized

ALGORITHM = "HS256"  # pinned: a token naming any other algorithm is refused
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti", "role", "typ"]
# Users (citizens, staff) and partners get the same kind of token (`typ: access`); the `role`
# claim says which, so a citizen's token never opens a staff route, and a partner's opens only
# routes that name one of its scopes (api.auth.auth_required).
USER_ROLES = frozenset({"citizen", "officer", "clerk", "admin", "agent"})
STAFF_ROLES = frozenset({"officer", "clerk", "admin", "agent"})
PARTNER_ROLE = "partner"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says: enough to authorize without a database read."""

    id: str
    role: str
    locale: str = "zh-CN"
    department: str | None = None
    region: str | None = None
    station: str | None = None
    scopes: tuple[str, ...] = ()
    session: str | None = None  # the refresh-token family the token was issued to
    issued_ms: int = 0

    @property
    def kind(self) -> str:
        """citizen, staff or partner: the three never stand in for one another."""
        if self.role == PARTNER_ROLE:
            return "partner"
        return "staff" if self.role in STAFF_ROLES else "citizen"

    @property
    def is_partner(self) -> bool:
        return self.role == PARTNER_ROLE

    def has_scope(self, scope: str) -> bool:
        return self.is_partner and scope in self.scopes

    def load(self):
        """The active User this token names (None for a partner, or a disabled account)."""

        if self.is_partner:
            return None
        return User.objects(id=self.id, active=True).first()

    def load_partner(self):
        """The active Partner this token names (None for users, or a disabled partner)."""

        if not self.is_partner:
            return None
        return Partner.objects(id=self.id, active=True).first()


def _sign(claims: dict, ttl: int) -> str:
    config = current_app.config
    now = datetime.now(UTC)
    # Milliseconds: a token issued just after a revocation must not be mistaken for an old one.
    claims = {"iss": config["JWT_ISSUER"], "aud": config["JWT_AUDIENCE"], "iat": now,
              "iat_ms": int(now.timestamp() * 1000),
              "exp": now + timedelta(seconds=ttl), "jti": uuid.uuid4().hex, "typ": "access",
              **claims}
    kid = config["JWT_ACTIVE_KID"]
    return jwt.encode(claims, config["JWT_KEYS"][kid], algorithm=ALGORITHM, headers={"kid": kid})


def issue_access_token(user, *, ttl: int | None = None, session: str | None = None
                       ) -> tuple[str, int]:
    """Sign an access token for a user (of one session, so signing out takes it back); returns
    the token and its lifetime in seconds."""
    ttl = ttl or current_app.config["ACCESS_TOKEN_TTL"]
    claims = {"sub": str(user.id), "role": str(user.role),
              "locale": getattr(user, "locale", None) or "zh-CN"}
    # The posts staff are authorized by; a citizen's region (where they live) authorizes
    # nothing and may change at any time, so it is read where it is used, never from a token.
    if session:
        claims["sid"] = session
    if str(user.role) in STAFF_ROLES:
        for optional in ("department", "region", "station"):
            if getattr(user, optional, None):
                claims[optional] = getattr(user, optional)
    return _sign(claims, ttl), ttl


def issue_partner_token(partner, *, scopes, ttl: int | None = None) -> tuple[str, int]:
    """Sign a client-credentials token for a partner, limited to the scopes given."""
    ttl = ttl or current_app.config["PARTNER_TOKEN_TTL"]
    claims = {"sub": str(partner.id), "role": PARTNER_ROLE, "client_id": partner.client_id,
              "scopes": sorted(scopes), "locale": "zh-CN"}
    return _sign(claims, ttl), ttl


# Tokens this process verified, for their next requests (an app sends one token many times):
# what a token string says and its signature never change; its expiry is checked at each use.
# Keyed with the key, issuer and audience it was verified against: a key taken out of JWT_KEYS
# takes its tokens with it. Emptied when full; a token missing from it is verified again.
_verified: dict[tuple, tuple["Principal", float]] = {}
VERIFIED_KEPT = 2_000  # about 1 KB each


def decode_access_token(token: str) -> Principal:
    """Verify signature, key id, issuer, audience, expiry and claims; any doubt is a 401."""
    config = current_app.config
    invalid = Unauthorized("The access token is invalid or expired.", "访问令牌无效或已过期。",
                           error="invalid_token",
                           headers={"WWW-Authenticate": 'Bearer realm="onething", '
                                                        'error="invalid_token"'})
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = config["JWT_KEYS"].get(kid) if isinstance(kid, str) else None
        if key is None:
            raise invalid
        verified_as = (token, key, config["JWT_ISSUER"], config["JWT_AUDIENCE"])
        principal, expires = _verified.get(verified_as, (None, 0.0))
        if principal is not None and time.time() < expires:
            return principal
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=config["JWT_AUDIENCE"],
            issuer=config["JWT_ISSUER"], options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        raise invalid from None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        raise invalid
    role = claims.get("role")
    if role not in USER_ROLES and not (role == PARTNER_ROLE and isinstance(claims.get("scopes"),
                                                                         list)):
        raise invalid
    principal = Principal(
        id=claims["sub"], role=claims["role"], locale=claims.get("locale") or "zh-CN",
        department=claims.get("department"), region=claims.get("region"),
        station=claims.get("station"), scopes=tuple(claims.get("scopes") or ()),
        session=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
        issued_ms=int(claims["iat_ms"]) if isinstance(claims.get("iat_ms"), int)
        else int(claims["iat"]) * 1000,
    )
    if len(_verified) >= VERIFIED_KEPT:
        _verified.clear()
    _verified[verified_as] = (principal, float(claims["exp"]))
    return principal
