"""Partner systems: registered with scopes, secrets rotated, webhooks keyed."""
import logging
import re
import secrets
from datetime import UTC, datetime

from bson import ObjectId

from common import crypto
from models import indexed_writes
from models.base import DUPLICATE
from models.partner import Partner, Scope
from services.errors import (
    InvalidState,
    NotFound,
)
from services.identity import revocation
from services.identity.staff_accounts import field_error

log = logging.getLogger(__name__)


CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def _check_scopes(scopes: list[str]) -> list[str]:
    known = {s.value for s in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise field_error("scopes", f"Unknown scopes: {', '.join(unknown)}.",
                           f"未知的权限范围：{', '.join(unknown)}。")
    return sorted(set(scopes))


def register_partner(*, name: str, scopes: list[str], client_id: str | None = None,
                     webhook_url: str | None = None, events: list[str] | None = None,
                     created_by: str | None = None) -> tuple[Partner, str, str]:
    """Register a partner; returns it with its client secret and webhook secret, shown once."""
    client_id = (client_id or f"p-{secrets.token_hex(8)}").strip().lower()
    if not CLIENT_ID.match(client_id):
        raise field_error("client_id", "A client id is 3-64 lowercase letters, digits, . _ or -.",
                           "客户端标识为 3-64 位小写字母、数字或 . _ -。")
    secret, webhook_secret = crypto.new_token(32), crypto.new_token(32)
    partner = Partner(name=name, client_id=client_id, secret_hash=crypto.hash_secret(secret),
                      scopes=_check_scopes(scopes), webhook_url=webhook_url or None,
                      webhook_secret_encrypted=crypto.encrypt(webhook_secret),
                      events=sorted(set(events or [])), created_by=created_by)
    try:
        partner.save()
    except DUPLICATE:
        raise InvalidState("This client id is taken.", "该客户端标识已被使用。",
                           error="client_id_taken") from None
    log.info("partner %s registered by %s", client_id, created_by)
    return partner, secret, webhook_secret


def get_partner(partner_id: str) -> Partner:
    partner = Partner.objects(id=partner_id).first() if ObjectId.is_valid(partner_id) else None
    if partner is None:
        raise NotFound()
    return partner


def partners():
    """Every partner by client id, as a query a caller can page."""
    return Partner.objects.order_by("client_id")


def update_partner(*, partner_id: str, **changes) -> Partner:
    """Change a partner's name, scopes, webhook URL, events or active flag."""
    partner = get_partner(partner_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    if "scopes" in changes:
        changes["scopes"] = _check_scopes(changes["scopes"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes:
        indexed_writes.set_fields(partner, updated_at=datetime.now(UTC), **changes)
    if changes.get("active") is False:
        revocation.revoke_subject(str(partner.id))  # its tokens stop at once, not at expiry
    return partner


def rotate_partner_secret(*, partner_id: str) -> tuple[Partner, str]:
    """A new client secret; the old one stops working at once."""
    partner = get_partner(partner_id)
    secret = crypto.new_token(32)
    indexed_writes.set_fields(partner, secret_hash=crypto.hash_secret(secret),
                              updated_at=datetime.now(UTC))
    return partner, secret

