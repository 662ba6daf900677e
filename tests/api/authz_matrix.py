"""The authorization matrix's vocabulary: actors, the world they live in, entries, expectations.

An entry says, for one route ("METHOD /rule" exactly as in `app.url_map`), how to build the
request for an actor and which status each actor must get:

    ENTRIES["DELETE /api/v1/me/family/<member_id>"] = Entry(
        lambda world, actor: f"/api/v1/me/family/{make_family_member(world.citizen_a).id}",
        citizen_only(204, citizen_b=404))

The builder runs once per actor against the same world (so it can create a fresh object each
time: a DELETE by one actor does not spoil the next), and returns a URL or a `Call`. Objects of
the world belong to `citizen_a`, who lives in `REGION` (their applications are made there);
`citizen_b` is the other citizen who must get 404; `officer` works in `RIGHT_DEPARTMENT` in
`REGION`, `officer_other` in `OTHER_DEPARTMENT` in `REGION`, `officer_elsewhere` in
`RIGHT_DEPARTMENT` in `OTHER_REGION` (the same department of another region); `clerk` at `STATION`;
`agent` is at the service desk of `RIGHT_REGION` (citizen A's, by default), `agent_other` at
that of `OTHER_REGION`;
`partner` holds every scope; `expired` and `forged` carry citizen A's identity in a token that
is expired / signed with a key we do not have. When `expired`/`forged` are not given they expect
what `anonymous` gets (a public route ignores a bad token; a protected one answers 401).

Every workbench route names what `officer`, `officer_other` and `officer_elsewhere` get, never
by default: the department and the region are both fences, and each must be shown to hold.
"""
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import jwt
from flask import current_app

from services.identity import numbers
from services.identity.tokens import issue_access_token
from tests import workflow_support as ws
from tests.helpers import (
    ApiClient,
    make_admin,
    make_agent,
    make_citizen,
    make_clerk,
    make_officer,
    make_partner,
    partner_token,
)

ACTORS = ("anonymous", "citizen_a", "citizen_b", "officer", "officer_other", "officer_elsewhere",
          "clerk", "agent", "agent_other", "admin", "partner", "expired", "forged")
USERS = ("citizen_a", "citizen_b", "officer", "officer_other", "officer_elsewhere", "clerk",
         "agent", "agent_other", "admin")
STAFF = ("officer", "officer_other", "officer_elsewhere", "clerk", "agent", "agent_other",
         "admin")
# The officers whose answers on a workbench route are never left to a default.
OFFICERS = ("officer", "officer_other", "officer_elsewhere")
RIGHT_DEPARTMENT = "public_security"
OTHER_DEPARTMENT = "taxation"
REGION = "330381"  # Ruian: where citizen A lives and applies
OTHER_REGION = "330102"  # Hangzhou Shangcheng
STATION = "ruian-hospital"
RIGHT_REGION = "330381"  # citizen A chose none: the default region's desk serves them
OTHER_REGION = "330102"

_phones = itertools.count(1)


@dataclass
class Call:
    """One request: `json` for JSON bodies, `data` for forms and uploads."""

    url: str
    json: dict | list | None = None
    data: dict | None = None
    headers: dict = field(default_factory=dict)
    content_type: str | None = None


Builder = Callable[["World", str], "Call | str"]
Expected = int | set[int] | frozenset[int]


class Expectations(dict):
    """Statuses by actor, remembering which actors were named rather than defaulted."""

    def __init__(self, values: dict, named):
        super().__init__(values)
        self.named = frozenset(named)


@dataclass
class Entry:
    build: Builder
    expect: dict[str, Expected]
    note: str = ""

    def expected(self, actor: str) -> frozenset[int]:
        if actor in self.expect:
            value = self.expect[actor]
        elif actor in ("expired", "forged"):
            value = self.expect["anonymous"]
        else:
            raise KeyError(f"no expectation for {actor}")
        return frozenset(value) if isinstance(value, set | frozenset) else frozenset({value})


class World:
    """The actors, made fresh for each route: two verified citizens, staff, a partner."""

    def __init__(self, client: ApiClient):
        self.client_ = client
        self.citizen_a = make_citizen(
            phone=self.fresh_phone(), name="Citizen A",
            id_number=numbers.make_id_number("330381", date(1990, 3, 7), 11, "male"),
            region=REGION)
        self.citizen_b = make_citizen(
            phone=self.fresh_phone(), name="Citizen B",
            id_number=numbers.make_id_number("330381", date(1992, 6, 9), 22, "female"))
        self.officer = make_officer(RIGHT_DEPARTMENT, region=REGION)
        self.officer_other = make_officer(OTHER_DEPARTMENT, region=REGION)
        self.officer_elsewhere = make_officer(RIGHT_DEPARTMENT, region=OTHER_REGION)
        self.clerk = make_clerk(STATION)
        self.agent = make_agent(RIGHT_REGION)
        self.agent_other = make_agent(OTHER_REGION)
        self.admin = make_admin()
        self.partner, self.partner_secret = make_partner()

    @staticmethod
    def fresh_phone() -> str:
        """A mobile number no one in this test has used (each gets its own send allowance)."""
        return f"139{next(_phones) % 10**8:08d}"

    def user(self, actor: str):
        return getattr(self, actor) if actor in USERS else None

    def token(self, actor: str) -> str | None:
        if actor in USERS:
            return issue_access_token(getattr(self, actor))[0]
        if actor == "partner":
            return partner_token(self.partner)
        if actor == "expired":
            return issue_access_token(self.citizen_a, ttl=-60)[0]
        if actor == "forged":
            config = current_app.config
            now = datetime.now(UTC)
            claims = {"iss": config["JWT_ISSUER"], "aud": config["JWT_AUDIENCE"], "iat": now,
                      "exp": now + timedelta(minutes=5), "sub": str(self.citizen_a.id),
                      "jti": "forged", "typ": "access", "role": "citizen"}
            return jwt.encode(claims, "a-key-we-never-issued-" * 2, algorithm="HS256",
                              headers={"kid": config["JWT_ACTIVE_KID"]})
        return None

    def client(self, actor: str) -> ApiClient:
        token = self.token(actor)
        headers = {k: v for k, v in self.client_.headers.items() if k != "Authorization"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return ApiClient(self.client_.flask_client, None, headers)


# ── Expectations ──────────────────────────────────────────────────────────────────────────────


def by_actor(default: Expected | None = None, **statuses: Expected) -> dict[str, Expected]:
    """Statuses by actor; actors not named get `default` (expired/forged: anonymous's)."""
    unknown = set(statuses) - set(ACTORS)
    if unknown:
        raise ValueError(f"unknown actors: {sorted(unknown)}")
    result = {actor: default for actor in ACTORS if actor not in ("expired", "forged")
              and default is not None}
    result.update(statuses)
    return Expectations(result, statuses)


def public(status: Expected) -> dict[str, Expected]:
    """Anyone, with or without a token, gets the same answer."""
    return Expectations(by_actor(status), ACTORS)


def citizen_only(ok: Expected, **overrides: Expected) -> dict[str, Expected]:
    """Citizens only (citizen B gets `ok` too unless told, e.g. citizen_b=404)."""
    return by_actor(403, **{"anonymous": 401, "citizen_a": ok, "citizen_b": ok, **overrides})


def admin_only(ok: Expected, **overrides: Expected) -> dict[str, Expected]:
    return by_actor(403, **{"anonymous": 401, "admin": ok, **overrides})


def staff_only(**statuses: Expected) -> dict[str, Expected]:
    """Anonymous 401, citizens and partner 403, staff as given (others 403)."""
    return by_actor(403, **{"anonymous": 401, **statuses})


def signed_in(ok: Expected, **overrides: Expected) -> dict[str, Expected]:
    """Any citizen or staff token; partners are refused (403)."""
    return by_actor(ok, **{"anonymous": 401, "partner": 403, **overrides})


_babies = itertools.count(1)


def newborn_form() -> dict:
    """Citizen A's joint form for a newborn application, each about another baby: one
    application may be open per bundle and person, and the matrix makes many."""
    return ws.newborn_form(spouse_name="Spouse A", spouse_id_number=ws.baby_id_number(3),
                           newborn_name=f"Baby {next(_babies)}")
