"""Authorization matrix entries: one per route ("METHOD /rule"), see tests/api/authz_matrix.py.

Add the entries of a new route here, or in a module of this folder named
`authz_matrix_entries_<area>.py` defining `ENTRIES` (found automatically).
"""
import itertools
from datetime import date

from common import crypto
from models.user import PlatformBinding
from notifications.miniprogram import DevelopmentPlatform
from services.identity import citizens, otp, sessions, staff_accounts
from tests.api.authz_matrix import (
    Call,
    Entry,
    admin_only,
    citizen_only,
    public,
)
from tests.helpers import make_citizen, make_family_member

ENTRIES: dict[str, Entry] = {}

_sequence = itertools.count(1)


# ── Signing in (public) ───────────────────────────────────────────────────────────────────────


def _otp(world, actor):
    return Call("/api/v1/auth/otp", json={"phone": world.fresh_phone()})


def _login(world, actor):
    phone = world.fresh_phone()
    code = otp.request_code(phone=phone, purpose="login").debug_code
    return Call("/api/v1/auth/login", json={"phone": phone, "code": code})


def _staff_login(world, actor):
    username = f"matrix.{actor}.{next(_sequence)}"
    staff_accounts.create_staff(username=username, password="matrix-password", role="admin")
    return Call("/api/v1/auth/staff-login",
                json={"username": username, "password": "matrix-password"})


def _refresh_token(world) -> str:
    return sessions.start_session(world.citizen_a)["refresh_token"]


def _partner_token(world, actor):
    return Call("/api/v1/auth/token", data={"grant_type": "client_credentials",
                                            "client_id": world.partner.client_id,
                                            "client_secret": world.partner_secret})


def _miniprogram(world, actor):
    code = f"matrix-{actor}-{next(_sequence)}"
    subject = DevelopmentPlatform("wechat").exchange_code(code).subject
    PlatformBinding(user=str(world.citizen_a.id), platform="wechat",
                    subject_index=crypto.blind_index("wechat-user", subject),
                    subject_encrypted=crypto.encrypt(subject)).save()
    return Call("/api/v1/auth/miniprogram", json={"platform": "wechat", "code": code})


def _miniprogram_bind(world, actor):
    try:
        sessions.miniprogram_sign_in(platform="wechat", code=f"unbound-{next(_sequence)}")
    except sessions.MiniProgramUnbound as unbound:
        ticket = unbound.ticket
    phone = world.fresh_phone()
    code = otp.request_code(phone=phone, purpose="miniprogram_bind").debug_code
    return Call("/api/v1/auth/miniprogram/bind",
                json={"ticket": ticket, "phone": phone, "code": code})


ENTRIES.update({
    "POST /api/v1/auth/otp": Entry(_otp, public(202)),
    "POST /api/v1/auth/login": Entry(_login, public(200)),
    "POST /api/v1/auth/staff-login": Entry(_staff_login, public(200)),
    "POST /api/v1/auth/refresh": Entry(
        lambda w, a: Call("/api/v1/auth/refresh", json={"refresh_token": _refresh_token(w)}),
        public(200)),
    "POST /api/v1/auth/logout": Entry(
        lambda w, a: Call("/api/v1/auth/logout", json={"refresh_token": _refresh_token(w)}),
        public(204)),
    "POST /api/v1/auth/token": Entry(_partner_token, public(200)),
    "POST /api/v1/auth/miniprogram": Entry(_miniprogram, public(200)),
    "POST /api/v1/auth/miniprogram/bind": Entry(_miniprogram_bind, public(200)),
})


# ── The citizen ───────────────────────────────────────────────────────────────────────────────


def _real_name(world, actor):
    # Each citizen repeats their own verified answer (idempotent); others' bodies do not matter.
    user = world.user(actor) if actor in ("citizen_a", "citizen_b") else world.citizen_a
    return Call("/api/v1/me/real-name",
                json={"name": user.name, "id_number": citizens.id_number_of(user)})


def _new_child(world, actor):
    return Call("/api/v1/me/family", json={"relation": "child", "name": "Matrix child",
                                           "birth_date": date(2025, 1, 1).isoformat()})


def _request_to_a(world, actor):
    """A new citizen's pending entry naming citizen A: A may answer it, B finds nothing."""
    return make_family_member(make_citizen(), "spouse", status="pending", awaiting="citizen",
                              id_number=citizens.id_number_of(world.citizen_a),
                              birth_date=world.citizen_a.birth_date)


ENTRIES.update({
    "GET /api/v1/me/family/requests": Entry(lambda w, a: "/api/v1/me/family/requests",
                                            citizen_only(200)),
    "POST /api/v1/me/family/requests/<request_id>/confirm": Entry(
        lambda w, a: Call(f"/api/v1/me/family/requests/{_request_to_a(w, a).id}/confirm"),
        citizen_only(200, citizen_b=404)),
    "POST /api/v1/me/family/requests/<request_id>/decline": Entry(
        lambda w, a: Call(f"/api/v1/me/family/requests/{_request_to_a(w, a).id}/decline"),
        citizen_only(204, citizen_b=404)),
    "GET /api/v1/me": Entry(lambda w, a: "/api/v1/me", citizen_only(200)),
    "PATCH /api/v1/me": Entry(lambda w, a: Call("/api/v1/me", json={"locale": "en"}),
                              citizen_only(200)),
    "POST /api/v1/me/real-name": Entry(_real_name, citizen_only(200)),
    "GET /api/v1/me/family": Entry(lambda w, a: "/api/v1/me/family", citizen_only(200)),
    "POST /api/v1/me/family": Entry(_new_child, citizen_only(201)),
    "DELETE /api/v1/me/family/<member_id>": Entry(
        lambda w, a: f"/api/v1/me/family/{make_family_member(w.citizen_a).id}",
        citizen_only(204, citizen_b=404)),
})


# ── Administration ────────────────────────────────────────────────────────────────────────────


def _new_staff(world, actor):
    return Call("/api/v1/admin/staff", json={
        "username": f"clerk.matrix.{next(_sequence)}", "password": "matrix-password",
        "role": "clerk", "station": "ruian-hospital"})


def _new_partner(world, actor):
    return Call("/api/v1/admin/partners", json={"name": "Matrix partner",
                                                "scopes": ["applications:read"]})


ENTRIES.update({
    "GET /api/v1/admin/staff": Entry(lambda w, a: "/api/v1/admin/staff", admin_only(200)),
    "POST /api/v1/admin/staff": Entry(_new_staff, admin_only(201)),
    "GET /api/v1/admin/staff/<user_id>": Entry(
        lambda w, a: f"/api/v1/admin/staff/{w.officer.id}", admin_only(200)),
    "PATCH /api/v1/admin/staff/<user_id>": Entry(
        lambda w, a: Call(f"/api/v1/admin/staff/{w.officer.id}", json={"name": "Renamed"}),
        admin_only(200)),
    "GET /api/v1/admin/partners": Entry(lambda w, a: "/api/v1/admin/partners", admin_only(200)),
    "POST /api/v1/admin/partners": Entry(_new_partner, admin_only(201)),
    "GET /api/v1/admin/partners/<partner_id>": Entry(
        lambda w, a: f"/api/v1/admin/partners/{w.partner.id}", admin_only(200)),
    "PATCH /api/v1/admin/partners/<partner_id>": Entry(
        lambda w, a: Call(f"/api/v1/admin/partners/{w.partner.id}", json={"name": "Renamed"}),
        admin_only(200)),
    "POST /api/v1/admin/partners/<partner_id>/secret": Entry(
        # Rotating the secret does not end the partner's own (already issued) token.
        lambda w, a: f"/api/v1/admin/partners/{w.partner.id}/secret", admin_only(200)),
})
