"""Test helpers: an API client that acts as a role, and small factories."""
import itertools

from flask.testing import FlaskClient

from models.user import Role, User
from services.tokens import issue_access_token

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


def make_citizen(**fields) -> User:
    return make_user(Role.CITIZEN, **fields)


def make_officer(department: str, **fields) -> User:
    return make_user(Role.OFFICER, department=department, region=fields.pop("region", "330381"),
                     **fields)


def make_clerk(station: str = "ruian-hospital", **fields) -> User:
    return make_user(Role.CLERK, station=station, **fields)


def make_admin(**fields) -> User:
    return make_user(Role.ADMIN, **fields)
