"""SMS one-time codes: 6 digits, short-lived, single use, few tries, and limits on sending."""
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from pymongo import UpdateOne

from common import crypto, rate_limits
from common.i18n import text
from models import indexed_writes
from models.otp import OtpCode
from notifications.sms import SmsError, sms_gateway
from services.errors import ServiceUnavailable, TooManyRequests, Unauthorized, ValidationFailed
from services.identity import numbers

log = logging.getLogger(__name__)

# Purposes clients may ask for at POST /auth/otp; services may use their own (station consent).
PURPOSES = ("login", "miniprogram_bind")
# What the text says: the citizen must know what giving the code away agrees to.
MESSAGES = {
    "login": ("[{sign}] Your code is {code}, valid for {m} minutes. Do not share it.",
              "【{sign}】您的验证码是 {code}，{m} 分钟内有效，请勿泄露给他人。"),
    "station_consent": (
        "[{sign}] A service station is applying for you. Give code {code} to the clerk only if "
        "you are there and agree; valid for {m} minutes.",
        "【{sign}】服务站正在为您代办申请。如您本人在场并同意，请将验证码 {code} 告知工作人员，"
        "{m} 分钟内有效。"),
}
PURPOSE_SHAPE = re.compile(r"^[a-z][a-z_]{1,39}$")
MINUTE, HOUR, DAY = 60, 3600, 24 * 3600


@dataclass(frozen=True)
class SentCode:
    expires_in: int
    debug_code: str | None = None  # only where OTP_DEBUG_CODE is on (development, tests)


def _limited(retry_after: int) -> TooManyRequests:
    return TooManyRequests("Too many codes requested; try again in {s} seconds.",
                           "验证码请求过于频繁，请 {s} 秒后再试。", error="otp_rate_limited",
                           retry_after=retry_after, s=retry_after)


def _code_hash(phone_index: str, purpose: str, code: str) -> str:
    return crypto.blind_index("otp", f"{phone_index}:{purpose}:{code}")


def _check_purpose(purpose: str) -> None:
    if not PURPOSE_SHAPE.match(purpose or ""):
        raise ValidationFailed(errors={"purpose": ["Not a valid purpose."]})


def request_code(*, phone: str, purpose: str = "login", client_ip: str | None = None) -> SentCode:
    """Text a new code to a phone for one purpose, within the per-client and per-phone limits;
    a new code replaces the previous one."""
    config = current_app.config
    _check_purpose(purpose)
    phone = numbers.normalize_phone(phone)
    phone_index = crypto.blind_index("phone", phone)
    # The client address first: a flood from one address spends none of a phone's allowance.
    # The phone's two limits are one window (one write): a minute's and a day's.
    retry_after = (rate_limits.take(f"otp:client:{crypto.blind_index('client', client_ip)}",
                                    limit=config["OTP_CLIENT_PER_HOUR"], window=HOUR)
                   if client_ip else 0) or rate_limits.take_all(
        f"otp:phone:{phone_index}", [(config["OTP_PHONE_PER_MINUTE"], MINUTE),
                                     (config["OTP_PHONE_PER_DAY"], DAY)])
    if retry_after:
        raise _limited(retry_after)

    code = f"{secrets.randbelow(10**6):06d}"
    ttl = int(config["OTP_TTL"])
    now = datetime.now(UTC)
    code_hash = _code_hash(phone_index, purpose, code)
    OtpCode._get_collection().update_one(
        {"phone_index": phone_index, "purpose": purpose},
        {"$set": {"code_hash": code_hash, "attempts": 0, "sent_at": now, "used_by": None,
                  "expires_at": now + timedelta(seconds=ttl)}},
        upsert=True)
    minutes = max(1, ttl // 60)
    en, zh = MESSAGES.get(purpose, MESSAGES["login"])
    message = text(en, zh, sign=config["SMS_SIGN_NAME"], code=code, m=minutes)
    try:
        sms_gateway().send(phone, message)
    except SmsError:
        OtpCode._get_collection().delete_one({"phone_index": phone_index, "code_hash": code_hash})
        raise ServiceUnavailable("The code could not be sent; please try again later.",
                                 "验证码发送失败，请稍后再试。", error="sms_unavailable") from None
    return SentCode(expires_in=ttl, debug_code=code if config["OTP_DEBUG_CODE"] else None)


def send_code(*, phone: str, purpose: str, client_ip: str | None) -> int:
    """Text a code (see request_code); returns how many seconds it stays valid."""
    return request_code(phone=phone, purpose=purpose, client_ip=client_ip).expires_in


def verify_code(*, phone: str, purpose: str, code: str) -> bool:
    """Accept the live code for this phone and purpose once; each wrong try counts, and after
    the last allowed one the code is dead even if the right digits follow. Returns whether a code
    of this phone and purpose was spent before (a hint, right unless the document was lost)."""
    config = current_app.config
    _check_purpose(purpose)
    phone_index = crypto.blind_index("phone", numbers.normalize_phone(phone))
    now = datetime.now(UTC)
    max_attempts = int(config["OTP_MAX_ATTEMPTS"])
    collection = OtpCode._get_collection()
    this_code = {"phone_index": phone_index, "purpose": purpose}
    live = {**this_code, "expires_at": {"$gt": now}, "attempts": {"$lt": max_attempts}}
    live["used_by"] = None
    code = crypto.canonical_digits(code or "").strip()
    # update_one, not findAndModify: the embedded server scans the collection for the latter
    # (models/indexed_writes.py). Marked used, not deleted: a driver's retry of this write,
    # which the embedded server does not deduplicate, finds this sign-in's own mark.
    this_use = uuid.uuid4().hex
    right = {**live, "code_hash": _code_hash(phone_index, purpose, code)}
    # One command answers two questions: the first update matches, changing nothing, only when a
    # code was spent before; the second spends this one, changing it.
    written = collection.bulk_write([
        UpdateOne({**this_code, "spent_before": True}, {"$set": {"spent_before": True}}),
        UpdateOne(right, {"$set": {"used_by": this_use, "spent_before": True}})])
    spent_before = written.matched_count > written.modified_count
    if written.modified_count:
        return spent_before
    if collection.find_one({**this_code, "used_by": this_use}, {"_id": 1}):
        return True  # this sign-in's own write, retried: the hint is lost, "perhaps" is safe
    counted = indexed_writes.update_and_read(
        collection, live, {"$inc": {"attempts": 1}},
        key={"phone_index": phone_index, "purpose": purpose}, projection={"attempts": 1})
    if counted is None:
        raise Unauthorized("This code has expired or was used; request a new one.",
                           "验证码已失效，请重新获取。", error="otp_expired")
    left = max_attempts - counted["attempts"]
    if left <= 0:
        raise Unauthorized("The code is wrong and no tries are left; request a new one.",
                           "验证码错误且已无剩余次数，请重新获取。", error="otp_invalid")
    raise Unauthorized("The code is wrong; {n} tries left.", "验证码错误，还可尝试 {n} 次。",
                       error="otp_invalid", n=left)
