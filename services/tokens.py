"""Access tokens: short-lived JWTs signed with the active key, verified by key id so keys rotate."""
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app

from services.errors import Unauthorized

ALGORITHM = "HS256"  # pinned: a token naming any other algorithm is refused
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti", "role", "typ"]


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

    def load(self):
        from models.user import User

        return User.objects(id=self.id, active=True).first()


def issue_access_token(user, *, ttl: int | None = None) -> tuple[str, int]:
    """Sign an access token for a user; returns the token and its lifetime in seconds."""
    config = current_app.config
    ttl = ttl or config["ACCESS_TOKEN_TTL"]
    now = datetime.now(UTC)
    claims = {
        "iss": config["JWT_ISSUER"], "aud": config["JWT_AUDIENCE"],
        "iat": now, "exp": now + timedelta(seconds=ttl),
        "sub": str(user.id), "jti": uuid.uuid4().hex, "typ": "access",
        "role": user.role, "locale": getattr(user, "locale", None) or "zh-CN",
    }
    for optional in ("department", "region", "station"):
        if getattr(user, optional, None):
            claims[optional] = getattr(user, optional)
    kid = config["JWT_ACTIVE_KID"]
    token = jwt.encode(claims, config["JWT_KEYS"][kid], algorithm=ALGORITHM, headers={"kid": kid})
    return token, ttl


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
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=config["JWT_AUDIENCE"],
            issuer=config["JWT_ISSUER"], options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        raise invalid from None
    if claims.get("typ") != "access":
        raise invalid
    return Principal(
        id=claims["sub"], role=claims["role"], locale=claims.get("locale") or "zh-CN",
        department=claims.get("department"), region=claims.get("region"),
        station=claims.get("station"), scopes=tuple(claims.get("scopes") or ()),
    )
