"""Citizens: accounts found by phone, profiles, real-name verification."""
import contextlib
import logging
import time
from datetime import UTC, datetime

import pymongo
from bson import ObjectId
from flask import current_app

from common import crypto
from common.i18n import current_locale
from models import indexed_writes
from models.base import DUPLICATE
from models.family import FamilyMember
from models.user import Role, User
from services.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    ServiceUnavailable,
)
from services.identity import family_links
from services.identity.numbers import id_number_gender, normalize_phone, validate_id_number
from services.identity.signals import real_name_verified

log = logging.getLogger(__name__)


def phone_of(user: User) -> str | None:
    return crypto.decrypt(user.phone_encrypted) if user.phone_encrypted else None


def id_number_of(holder: User | FamilyMember) -> str | None:
    return crypto.decrypt(holder.id_number_encrypted) if holder.id_number_encrypted else None


def region_of(citizen) -> str:
    """Where a citizen is served: the region they chose, else the DEFAULT_REGION setting.

    `citizen` is their account or the caller's Principal (whose token may predate a change: the
    account is read)."""
    account = citizen if isinstance(citizen, User) else User.objects(
        id=str(citizen.id)).only("region").first()
    return (account.region if account is not None else None) or \
        current_app.config["DEFAULT_REGION"]



def _account_disabled() -> Forbidden:
    return Forbidden("This account is disabled.", "该账户已停用。", error="account_disabled")


def find_or_create_citizen(*, phone: str, probably_known: bool = True) -> User:
    """The citizen with this phone; the first sign-in creates the account (one atomic upsert).

    A read hands a returning citizen back in one command, where a write that found them could
    not (an upsert answers only whether it inserted; findAndModify is a scan of every account on
    the embedded server, see models/indexed_writes.py); for a new one the upsert alone does it.
    So the caller's hint (`probably_known`: a sign-in code of this phone was spent before) says
    which goes first: right, it costs one command; wrong, two (then the other is sent). A
    disabled account, or staff with this phone, is found and refused, never made again."""
    phone = normalize_phone(phone)
    now = datetime.now(UTC)
    fresh = {"role": Role.CITIZEN.value, "locale": current_locale.get(), "active": True,
             "phone_encrypted": crypto.encrypt(phone), "real_name_verified": False,
             "failed_logins": 0, "created_at": now, "updated_at": now}
    collection = User._get_collection()
    phone_query = {"phone_index": crypto.blind_index("phone", phone)}
    raw = collection.find_one(phone_query) if probably_known else None
    for attempt in range(5):
        if raw is not None:
            break
        # Two first sign-ins at once: the other insert wins, this one collides (or matches).
        with contextlib.suppress(pymongo.errors.DuplicateKeyError):
            written = collection.update_one(phone_query, {"$setOnInsert": fresh}, upsert=True)
            if written.upserted_id is not None:
                raw = indexed_writes.as_stored(collection, {
                    **phone_query, **fresh, "_id": written.upserted_id})
        raw = raw or collection.find_one(phone_query)
        if raw is None:
            time.sleep(0.01 * (attempt + 1))
    if raw is None:
        raise ServiceUnavailable("Please try again.", "请重试。", error="busy")
    user = User._from_son(raw)
    if user.role != Role.CITIZEN or not user.active:
        raise _account_disabled()
    return user


def get_user(user_id: str, *, role: Role | None = None) -> User:
    """An active user by id, else 404."""
    user = User.objects(id=user_id, active=True).first() if ObjectId.is_valid(user_id) else None
    if user is None or (role is not None and user.role != role):
        raise NotFound()
    return user


_UNCHANGED = object()


def update_profile(*, user_id: str, name: str | None = None, locale: str | None = None,
                   region=_UNCHANGED, proactive_offers: bool | None = None) -> User:
    """A citizen changes their display name, language, region (where they live, a division
    code checked by the caller; None forgets it) or whether they want proactive offers; a
    verified real name stays as verified."""
    user = get_user(user_id)
    changes = {}
    if region is not _UNCHANGED:
        changes["region"] = region or None
    if name is not None:
        if user.real_name_verified and name != user.name:
            raise InvalidState("Your name is verified with your ID number and cannot be changed.",
                               "姓名已通过实名认证，无法修改。", error="name_verified")
        changes["name"] = name
    if locale is not None:
        changes["locale"] = locale
    if proactive_offers is not None:
        changes["proactive_offers"] = bool(proactive_offers)
    if changes:
        indexed_writes.set_fields(user, updated_at=datetime.now(UTC), **changes)
    return user


def verify_real_name(*, user_id: str, name: str, id_number: str) -> User:
    """Record a citizen's real name and resident ID number; one ID number belongs to one account."""
    user = get_user(user_id, role=Role.CITIZEN)
    born = validate_id_number(id_number)
    number = crypto.normalize("id_number", id_number)
    index = crypto.blind_index("id_number", number)
    if user.real_name_verified:
        if user.id_number_index == index and user.name == name:
            return user  # the same answer twice is not an error
        raise InvalidState("Your real name is already verified.", "您已完成实名认证。",
                           error="already_verified")
    now = datetime.now(UTC)
    try:
        # update_one, not modify(): the embedded server scans for findAndModify.
        verified = dict(name=name, id_number_encrypted=crypto.encrypt(number),
                        id_number_index=index, birth_date=born, gender=id_number_gender(number),
                        real_name_verified=True, real_name_verified_at=now, updated_at=now)
        written = User.objects(id=user.id, real_name_verified__ne=True).update_one(
            **{f"set__{k}": v for k, v in verified.items()})
    except DUPLICATE:
        raise InvalidState("This ID number is already verified on another account.",
                           "该身份证号码已在其他账户完成实名认证。",
                           error="id_number_taken") from None
    stored = None if written else User.objects(id=user.id, real_name_verified=True,
                                               id_number_index=index).only("name").first()
    if not written and (stored is None or stored.name != name):
        # (Else a driver's retry of this very write, which was stored: answered as then.)
        raise InvalidState("Your real name is already verified.", "您已完成实名认证。",
                           error="already_verified")
    updated = user
    indexed_writes.set_as_stored(updated, verified)
    family_links.demote_unconfirmed(updated)
    log.info("real name verified for user %s", user.id)
    _announce(updated)
    return updated


def _announce(user: User) -> None:
    """Tell whoever listens (proactive offers waiting for this person) without ever failing
    the verification that is already stored: a listener that breaks is logged, and its work
    is found again by its own sweep."""
    for receiver in real_name_verified.receivers_for(user):
        try:
            receiver(user)
        except Exception:  # a listener's failure is not the citizen's
            log.exception("a listener of real_name_verified failed for user %s", user.id)
