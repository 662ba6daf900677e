"""Test helpers: an API client that acts as a role, and small factories."""
import hashlib
import itertools
from datetime import UTC, datetime

from flask.testing import FlaskClient

from common import crypto, db_metrics
from models.connection import database
from models.family import FamilyMember
from models.material import Material, upload_key
from models.partner import Scope
from models.user import Role, User
from services.identity import numbers, partner_accounts
from services.identity.tokens import issue_access_token, issue_partner_token

_counter = itertools.count(1)


class ApiClient:
    """Wraps Flask's test client: `client.post(url, json=..., expect=201)` returns the response."""

    def __init__(self, flask_client: FlaskClient, user: User | None = None,
                 headers: dict | None = None):
        self.flask_client = flask_client
        self.user = user
        self.headers = dict(headers or {})
        if user is not None:
            token, _ = issue_access_token(user)
            self.headers["Authorization"] = f"Bearer {token}"

    def as_(self, user: User) -> "ApiClient":
        return ApiClient(self.flask_client, user, {k: v for k, v in self.headers.items()
                                                   if k != "Authorization"})

    def with_headers(self, **headers) -> "ApiClient":
        clone = ApiClient(self.flask_client, None, {**self.headers, **headers})
        clone.user = self.user
        return clone

    def request(self, method: str, url: str, expect: int | None = None, headers=None, **kwargs):
        response = self.flask_client.open(url, method=method,
                                          headers={**self.headers, **(headers or {})}, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {url}: expected {expect}, got {response.status_code}: "
                f"{response.get_data(as_text=True)[:2000]}")
        return response

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)


def make_user(role: Role | str, **fields) -> User:
    n = next(_counter)
    defaults = {"name": f"User {n}", "locale": "en"}
    if str(role) != Role.CITIZEN:
        defaults["username"] = f"{role}.{n}"
    return User(role=str(role), **{**defaults, **fields}).save()


def make_citizen(*, phone: str | None = None, id_number: str | None = None, **fields) -> User:
    """A citizen; a phone and an ID number are stored as the app stores them (encrypted, with
    their blind index), and an ID number means the real name is verified."""

    if phone:
        fields.update(phone_encrypted=crypto.encrypt(phone),
                      phone_index=crypto.blind_index("phone", phone))
    if id_number:
        fields.setdefault("birth_date", numbers.validate_id_number(id_number))
        fields.setdefault("gender", numbers.id_number_gender(id_number))
        fields.update(id_number_encrypted=crypto.encrypt(id_number),
                      id_number_index=crypto.blind_index("id_number", id_number),
                      real_name_verified=True)
    return make_user(Role.CITIZEN, **fields)


def make_family_member(owner, relation: str = "child", *, id_number: str | None = None,
                       **fields):
    """A family member of a citizen (a child born this year unless told otherwise)."""


    n = next(_counter)
    defaults = {"name": f"Member {n}", "birth_date": datetime.now(UTC).date().replace(month=1,
                                                                                        day=1)}
    if id_number:
        defaults.update(birth_date=numbers.validate_id_number(id_number),
                        gender=numbers.id_number_gender(id_number))
        fields.update(id_number_encrypted=crypto.encrypt(id_number),
                      id_number_index=crypto.blind_index("id_number", id_number))
    return FamilyMember(owner=str(getattr(owner, "id", owner)), relation=relation,
                        **{**defaults, **fields}).save()


def make_partner(scopes=None, **fields):
    """A registered partner and its client secret; `partner_token(partner)` signs it in."""

    n = next(_counter)
    partner, secret, _ = partner_accounts.register_partner(
        name=fields.pop("name", f"Partner {n}"), client_id=fields.pop("client_id", f"partner-{n}"),
        scopes=[s.value for s in Scope] if scopes is None else scopes, **fields)
    return partner, secret


def partner_token(partner, scopes=None) -> str:
    return issue_partner_token(partner, scopes=partner.scopes if scopes is None else scopes)[0]


def make_officer(department: str, **fields) -> User:
    return make_user(Role.OFFICER, department=department, region=fields.pop("region", "330381"),
                     **fields)


def make_clerk(station: str = "ruian-hospital", **fields) -> User:
    return make_user(Role.CLERK, station=station, **fields)


def make_agent(region: str = "330381", **fields) -> User:
    """An agent of the service desk of a region (Ruian unless told)."""
    return make_user(Role.AGENT, region=region, **fields)


def make_admin(**fields) -> User:
    return make_user(Role.ADMIN, **fields)


def make_material(owner, type: str = "parent_id_card", **fields):
    """A material already in a citizen's vault (metadata only; upload real bytes through the API
    when a test needs the content)."""


    n = next(_counter)
    owner_id = str(getattr(owner, "id", owner))
    sha256 = fields.pop("sha256", hashlib.sha256(f"material {n}".encode()).hexdigest())
    defaults = {"content_type": "image/jpeg", "size": 1000 + n, "status": "uploaded",
                "kind": "upload", "dedup_key": upload_key(owner_id, type, sha256)}
    return Material(owner=owner_id, type=type, sha256=sha256, **{**defaults, **fields}).save()


def close_rate_limit_windows() -> None:
    """As if every rate-limit window had passed: no earlier hit counts any more."""
    database()["windows"].delete_many({})


def capture_commands(monkeypatch, keep=lambda name, command: [name]) -> list:
    """What `keep(name, command)` makes of every database command the app sends from now on
    (by default its name), seen where X-DB-Commands counts them; the list fills as they go."""
    seen: list = []
    counted = db_metrics.CommandCounter.started

    def started(self, event):
        seen.extend(keep(event.command_name, event.command))
        counted(self, event)

    monkeypatch.setattr(db_metrics.CommandCounter, "started", started)
    return seen
