"""Signing in and staying signed in: codes, passwords, refresh tokens, partners, mini-programs."""
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
from bson import ObjectId
from flask import current_app

from common import crypto
from models import indexed_writes
from models.base import DUPLICATE
from models.partner import Partner
from models.refresh_token import RefreshToken
from models.user import STAFF_ROLES, BindingTicket, PlatformBinding, Role, User
from notifications.miniprogram import (
    PLATFORMS,
    CodeRejected,
    PlatformError,
    UntrustedAnswer,
    platform_client,
)
from services.errors import (
    BadRequest,
    Forbidden,
    InvalidState,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from services.identity import citizens, otp, revocation
from services.identity.tokens import issue_access_token, issue_partner_token

log = logging.getLogger(__name__)

BEARER = "Bearer"  # OAuth 2 token type (RFC 6750) of every token we issue


class MiniProgramUnbound(Forbidden):
    """The platform user is not linked to a citizen yet: bind with phone, code and this ticket."""

    error = "miniprogram_unbound"

    def __init__(self, *, ticket: str, expires_in: int):
        super().__init__(
            "This mini-program account is not linked yet: confirm your phone number with a code "
            "to link it.", "该小程序账号尚未绑定：请用手机号和验证码完成绑定。")
        self.ticket, self.expires_in = ticket, expires_in


def _now() -> datetime:
    return datetime.now(UTC)


# ── Sessions: an access token plus a refresh token of one family ──────────────────────────────


def _new_refresh_token(user: User, family: str) -> str:
    token = crypto.new_token(32)
    now = _now()
    # The id is chosen here: a driver's retry of the insert meets its own first attempt (the
    # embedded server does not deduplicate retried writes), which is then the token stored.
    record = RefreshToken(
        id=ObjectId(), token_hash=crypto.hash_token(token), family=family, user=str(user.id),
        role=user.role, created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["REFRESH_TOKEN_TTL"]))
    try:
        record.save(force_insert=True)
    except DUPLICATE:
        if not RefreshToken.objects(id=record.id, token_hash=record.token_hash).only(
                "id").first():
            raise
    return token


def _tokens(user: User, family: str) -> dict:
    access, ttl = issue_access_token(user, session=family)
    return {"access_token": access, "refresh_token": _new_refresh_token(user, family),
            "token_type": BEARER, "expires_in": ttl, "user": user}


def start_session(user: User) -> dict:
    """Tokens for a user who just proved who they are: a new refresh-token family (whose
    `created_at` is when a citizen last signed in; staff's sign-in also goes on their account,
    in the write that clears their failures)."""
    return _tokens(user, uuid.uuid4().hex)


def _revoke_family(family: str) -> None:
    """End a session: its refresh tokens, and the access tokens issued to it."""
    RefreshToken._get_collection().update_many({"family": family, "revoked_at": None},
                                               {"$set": {"revoked_at": _now()}})
    revocation.revoke_session(family)


def _invalid_refresh() -> Unauthorized:
    return Unauthorized("The refresh token is invalid, expired or already used; sign in again.",
                        "刷新令牌无效、已过期或已使用，请重新登录。", error="invalid_refresh_token")


def refresh(*, refresh_token: str) -> dict:
    """Spend a refresh token for new tokens of the same family; a spent one presented again
    means it was stolen or replayed, so the whole family is revoked."""
    token_hash = crypto.hash_token(refresh_token or "")
    collection = RefreshToken._get_collection()
    now = _now()
    this_refresh = uuid.uuid4().hex
    spent = indexed_writes.take_one(
        collection, {"token_hash": token_hash, "spent_at": None, "revoked_at": None,
                     "expires_at": {"$gt": now}},
        {"$set": {"spent_at": now, "spent_by": this_refresh}})
    if spent is None:
        known = collection.find_one({"token_hash": token_hash})
        if known and known.get("spent_by") == this_refresh and not known.get("revoked_at"):
            # A driver's retry of this refresh's own spend: not a reuse.
            spent = known
    if spent is None:
        if known and known.get("spent_at") and not known.get("revoked_at"):
            log.warning("spent refresh token reused: family %s of user %s revoked",
                        known["family"], known["user"])
            _revoke_family(known["family"])
        raise _invalid_refresh()
    user = User.objects(id=spent["user"], active=True).first()
    if user is None or user.role != spent["role"]:
        _revoke_family(spent["family"])
        raise _invalid_refresh()
    return _tokens(user, spent["family"])


def logout(*, refresh_token: str) -> None:
    """Revoke the session the refresh token belongs to (every token of its family)."""
    known = RefreshToken._get_collection().find_one(
        {"token_hash": crypto.hash_token(refresh_token or "")}, {"family": 1})
    if known:
        _revoke_family(known["family"])


# ── Citizens: phone and SMS code ──────────────────────────────────────────────────────────────


def citizen_login(*, phone: str, code: str) -> dict:
    """A right code signs the citizen in; the first sign-in creates the account."""
    signed_in_before = otp.verify_code(phone=phone, purpose="login", code=code)
    return start_session(citizens.find_or_create_citizen(phone=phone,
                                                         probably_known=signed_in_before))


# ── Staff: username and password ──────────────────────────────────────────────────────────────


def _bad_credentials() -> Unauthorized:
    # One answer for unknown user, wrong password, locked or disabled account: nothing to probe.
    return Unauthorized("Wrong username or password, or the account is locked for a while after "
                        "too many failures.", "用户名或密码错误，或账户因多次失败已被暂时锁定。",
                        error="invalid_credentials")


def staff_login(*, username: str, password: str) -> dict:
    """An officer, clerk or admin signs in with a password; repeated failures lock the account."""
    config = current_app.config
    user = User.objects(username=(username or "").strip().lower(),
                        role__in=[r.value for r in STAFF_ROLES]).first()
    # The hash is checked even without an account, so both cases cost the same work.
    matches = crypto.verify_secret(user.password_hash if user else None, password or "")
    now = _now()
    if user is None or not user.active:
        raise _bad_credentials()
    if user.locked_until and user.locked_until > now:
        raise _bad_credentials()
    collection = User._get_collection()
    if not matches:
        counted = indexed_writes.update_and_read(collection, {"_id": user.id},
                                                 {"$inc": {"failed_logins": 1}},
                                                 projection={"failed_logins": 1})
        if counted and counted["failed_logins"] >= config["STAFF_LOGIN_MAX_FAILURES"]:
            until = now + timedelta(seconds=config["STAFF_LOCKOUT_SECONDS"])
            collection.update_one({"_id": user.id, "failed_logins": {"$gte": 1}},
                                  {"$set": {"locked_until": until, "failed_logins": 0}})
            log.warning("staff account %s locked after repeated failed sign-ins", user.id)
        raise _bad_credentials()
    # One write: the failures cleared and the sign-in recorded (admins see it on the account).
    changes = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if crypto.secret_needs_rehash(user.password_hash):
        changes["password_hash"] = crypto.hash_secret(password)
    collection.update_one({"_id": user.id}, {"$set": changes})
    return start_session(user)


# ── Partners: client credentials ──────────────────────────────────────────────────────────────


def client_credentials(*, grant_type: str, client_id: str, client_secret: str,
                       scope: str | None = None) -> dict:
    """A partner trades its client id and secret for a token limited to (some of) its scopes."""
    if grant_type != "client_credentials":
        raise BadRequest("Only the client_credentials grant is supported here.",
                         "此处仅支持 client_credentials 授权方式。", error="unsupported_grant_type")
    partner = Partner.objects(client_id=(client_id or "").strip().lower()).first()
    matches = crypto.verify_secret(partner.secret_hash if partner else None, client_secret or "")
    if partner is None or not partner.active or not matches:
        raise Unauthorized("Unknown client or wrong secret.", "客户端标识或密钥错误。",
                           error="invalid_client")
    requested = set(scope.split()) if scope else set(partner.scopes)
    if not requested or requested - set(partner.scopes):
        raise BadRequest("The requested scope is not granted to this client.",
                         "请求的权限范围未授予该客户端。", error="invalid_scope")
    token, ttl = issue_partner_token(partner, scopes=requested)
    return {"access_token": token, "token_type": BEARER, "expires_in": ttl,
            "scope": " ".join(sorted(requested))}


# ── Mini-programs: platform sign-in and binding ───────────────────────────────────────────────


def _subject_index(platform: str, subject: str) -> str:
    return crypto.blind_index(f"{platform}-user", subject)


def _exchange(platform: str, code: str):
    if platform not in PLATFORMS:
        raise ValidationFailed(errors={"platform": [f"Must be one of: {', '.join(PLATFORMS)}."]})
    try:
        return platform_client(platform).exchange_code(code)
    except UntrustedAnswer:
        # Someone between us and the platform, or a misconfigured key: nobody is signed in on
        # an answer we cannot prove came from the platform.
        raise ServiceUnavailable("The mini-program platform's answer could not be verified; "
                                 "try again later.", "无法验证小程序平台的应答，请稍后再试。",
                                 error="miniprogram_answer_unverified") from None
    except CodeRejected:
        raise Unauthorized("The mini-program sign-in code is invalid or already used.",
                           "小程序登录凭证无效或已使用。",
                           error="miniprogram_code_invalid") from None
    except PlatformError:
        raise ServiceUnavailable("The mini-program platform cannot be reached; try again later.",
                                 "暂时无法连接小程序平台，请稍后再试。",
                                 error="miniprogram_unavailable") from None


def miniprogram_sign_in(*, platform: str, code: str) -> dict:
    """Exchange a mini-program code for the platform user and sign in the citizen bound to it;
    an unbound user gets MiniProgramUnbound with a short-lived binding ticket."""
    session = _exchange(platform, code)
    index = _subject_index(platform, session.subject)
    session_key = crypto.encrypt(session.session_key) if session.session_key else None
    binding = PlatformBinding.objects(platform=platform, subject_index=index).first()
    if binding is not None:
        user = User.objects(id=binding.user, role=Role.CITIZEN, active=True).first()
        if user is None:
            raise Forbidden("This account is disabled.", "该账户已停用。", error="account_disabled")
        now = _now()
        binding.update(set__session_key_encrypted=session_key, set__last_sign_in_at=now,
                       set__updated_at=now)
        return start_session(user)
    ticket = crypto.new_token(24)
    ttl = int(current_app.config["MINIPROGRAM_TICKET_TTL"])
    BindingTicket(ticket_hash=crypto.hash_token(ticket), platform=platform, subject_index=index,
                  subject_encrypted=crypto.encrypt(session.subject),
                  session_key_encrypted=session_key,
                  expires_at=_now() + timedelta(seconds=ttl)).save()
    raise MiniProgramUnbound(ticket=ticket, expires_in=ttl)


def miniprogram_bind(*, ticket: str, phone: str, code: str) -> dict:
    """Link the platform user of a binding ticket to the citizen with this phone (proved by a
    `miniprogram_bind` code; the account is created if new) and sign them in, in one call."""
    ticket_hash = crypto.hash_token(ticket or "")
    invalid = Unauthorized("The binding ticket is invalid or expired; sign in from the "
                           "mini-program again.", "绑定凭证无效或已过期，请从小程序重新登录。",
                           error="binding_ticket_invalid")
    if not BindingTicket.objects(ticket_hash=ticket_hash, expires_at__gt=_now()).first():
        raise invalid
    otp.verify_code(phone=phone, purpose="miniprogram_bind", code=code)
    claimed = indexed_writes.take_one(BindingTicket._get_collection(),
                                      {"ticket_hash": ticket_hash, "expires_at": {"$gt": _now()}})
    if claimed is None:
        raise invalid
    user = citizens.find_or_create_citizen(phone=phone)
    now = _now()
    collection = PlatformBinding._get_collection()
    key = {"platform": claimed["platform"], "subject_index": claimed["subject_index"]}
    fresh = {"user": str(user.id), "subject_encrypted": claimed["subject_encrypted"],
             "session_key_encrypted": claimed.get("session_key_encrypted"),
             "last_sign_in_at": now, "created_at": now, "updated_at": now}
    with contextlib.suppress(pymongo.errors.DuplicateKeyError):  # a concurrent bind inserted it
        collection.update_one(key, {"$setOnInsert": fresh}, upsert=True)
    bound = collection.find_one(key, {"user": 1})
    if bound["user"] != str(user.id):
        raise InvalidState("This mini-program account is already linked to another citizen.",
                           "该小程序账号已绑定其他用户。", error="miniprogram_already_bound")
    log.info("mini-program %s account bound to user %s", claimed["platform"], user.id)
    return start_session(user)
