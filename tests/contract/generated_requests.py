"""Generated requests against the OpenAPI document, through the real app and its database.

schemathesis reads the document the app serves and generates requests for every operation, valid
and invalid; each is sent as each role (a token of a citizen, an officer, a clerk, an agent, an
admin, a partner, or none) and its answer checked: no 5xx, the body as documented for its status,
no status the operation does not document. Chains where one answer feeds the next request
(apply → read → withdraw, upload → apply, claim → complete) run as schemathesis's state machine
over the links it infers from the document. Used by `make fuzz` (thousands of cases) and by a
seeded slice in the test suite.
"""
import collections
import itertools
import sys
import time
import warnings
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, strategies
from hypothesis.errors import FlakyStrategyDefinition, HypothesisDeprecationWarning
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from services.identity.tokens import issue_access_token
from tests import workflow_support
from tests.helpers import (
    make_admin,
    make_agent,
    make_clerk,
    make_officer,
    make_partner,
    partner_token,
)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
CHECK_NAMES = {"not_a_server_error": "5xx", "status_code_conformance": "undocumented status",
               "response_schema_conformance": "schema violation"}
ROLES = ("anonymous", "citizen", "officer", "clerk", "agent", "admin", "partner")
# The role whose token opens an operation reaches its rules; the others mostly meet 401/403,
# so they get fewer cases there.
OTHER_ROLE_SHARE = 0.25


@dataclass
class Tally:
    """What the run did: cases by role and by status, and each distinct failure once."""

    cases: int = 0
    by_role: collections.Counter = field(default_factory=collections.Counter)
    by_status: collections.Counter = field(default_factory=collections.Counter)
    by_check: collections.Counter = field(default_factory=collections.Counter)
    failures: dict = field(default_factory=dict)
    stateful_steps: int = 0
    interrupted_chains: int = 0
    seconds: float = 0.0
    progress: bool = False

    def record(self, role: str, case, response) -> None:
        self.cases += 1
        if self.progress and self.cases % 1000 == 0:
            print(f"{self.cases} cases, failures: {self.counts}", file=sys.stderr, flush=True)
        self.by_role[role] += 1
        self.by_status[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = CHECK_NAMES.get(failure.checks[0] if getattr(failure, "checks", None)
                                       else "", type(failure).__name__)
                self.by_check[kind] += 1
                key = (kind, f"{case.method} {case.path}", response.status_code,
                       failure.title)
                self.failures.setdefault(key, (role, case.as_curl_command(), failure.message,
                                               response.text[:500]))

    @property
    def counts(self) -> dict:
        return {kind: self.by_check.get(kind, 0) for kind in CHECK_NAMES.values()}

    def report(self) -> str:
        lines = [f"{self.cases} generated cases in {self.seconds:.0f} s "
                 f"({self.stateful_steps} of them in stateful chains; "
                 f"{self.interrupted_chains} batches of chains cut short by hypothesis)",
                 "by role: " + ", ".join(f"{r} {self.by_role[r]}" for r in ROLES),
                 "by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items())),
                 "failures: " + ", ".join(f"{k} {n}" for k, n in self.counts.items())]
        for (kind, operation, status, title), (role, curl, message, body) in \
                sorted(self.failures.items()):
            lines += [f"\n[{kind}] {operation} → {status} as {role}: {title}", message.strip(),
                      curl, body]
        return "\n".join(lines)


class Actors:
    """One account of each role, with the real records a token needs behind it."""

    _phones = itertools.count(1)

    def __init__(self):
        # Verified, with a phone and a spouse: a newborn's joint form is prefilled for them.
        self.citizen = workflow_support.make_parent(next(self._phones) + 900, region="330381")
        # The department that works the first matter of a newborn application.
        self.officer = make_officer("health", region="330381")
        self.clerk = make_clerk("ruian-hospital")
        self.agent = make_agent("330381")
        self.admin = make_admin()
        self.partner, _ = make_partner()

    def headers(self, role: str) -> dict:
        """A fresh token each time: an earlier case may have signed this subject out."""
        if role == "anonymous":
            return {}
        if role == "partner":
            return {"Authorization": f"Bearer {partner_token(self.partner)}"}
        return {"Authorization": f"Bearer {issue_access_token(getattr(self, role))[0]}"}


def _seed_applications(app, actors: Actors, count: int = 3) -> None:
    """Real newborn applications of the citizen, so an officer's queue is not empty."""
    client = app.test_client()
    for n in range(count):
        response = client.post(
            "/api/v1/applications", headers={**actors.headers("citizen"),
                                             "Idempotency-Key": f"fuzz-seed-{n}"},
            json={"bundle": "newborn",
                  "form": workflow_support.newborn_form(newborn_name=f"Fuzz Baby {n}"),
                  "materials": workflow_support.newborn_materials(actors.citizen)})
        assert response.status_code == 201, response.get_data(as_text=True)


def load_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def _opens(operation, role: str) -> bool:
    """Whether a token of this role gets past the operation's door (x-roles, x-scopes)."""
    definition = operation.definition.raw
    if not definition.get("security"):
        return role == "anonymous"
    roles = definition.get("x-roles")
    if role == "partner":
        return bool(definition.get("x-scopes")) or "partner" in (roles or ())
    return role in roles if roles else role not in ("anonymous", "partner")


def _strategy(operation):
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # an operation with nothing to make invalid has no negative mode
            continue
    return strategies.one_of(modes)


def _settings(examples: int, deterministic: bool):
    return hypothesis.settings(
        max_examples=examples, deadline=None, database=None, derandomize=deterministic,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        print_blob=False)


def run_stateless(schema, actors: Actors, tally: Tally, examples: int,
                  deterministic: bool = False, roles=ROLES) -> None:
    """`examples` cases per operation for the roles it opens to, a quarter of that for the
    others."""
    for result in schema.get_all_operations():
        operation = result.ok()
        for role in roles:
            count = examples if _opens(operation, role) else max(1, int(examples *
                                                                       OTHER_ROLE_SHARE))
            _sender(operation, role, actors, tally, _settings(count, deterministic))()


def _sender(operation, role: str, actors: Actors, tally: Tally, settings):
    @settings
    @hypothesis.given(case=_strategy(operation))
    def send(case):
        response = case.call(headers=actors.headers(role))
        tally.record(role, case, response)
    return send


def _role_for(operation) -> str:
    return next(role for role in (*ROLES[1:], "anonymous") if _opens(operation, role))


def run_stateful(schema, actors: Actors, tally: Tally, examples: int, steps: int,
                 deterministic: bool = False) -> None:
    """Chains of calls along the links schemathesis infers from the document (an id one answer
    gives goes into the next request), each call made as the role its operation is for: a
    citizen applies, reads, withdraws; an officer claims and completes the task it made."""
    roles = {}

    class Chain(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            role = roles.setdefault(case.operation.label, _role_for(case.operation))
            return {"headers": actors.headers(role)}

        def validate_response(self, response, case, **kwargs):
            tally.stateful_steps += 1
            tally.record(roles.get(case.operation.label, "anonymous"), case, response)

    # The state machine draws from answers the database gives, so hypothesis may find two runs
    # drawing differently and stop ("flaky strategy"): what it sent until then is counted, and
    # the next batch goes on. A seeded run is one batch, the same each time.
    batch = examples if deterministic else min(examples, 10)
    for _ in range(0, examples, batch):
        try:
            Chain.run(settings=hypothesis.settings(_settings(batch, deterministic),
                                                   stateful_step_count=steps))
        except FlakyStrategyDefinition:
            tally.interrupted_chains += 1


def run(app, *, examples: int, stateful_examples: int, steps: int,
        deterministic: bool = False, progress: bool = False) -> Tally:
    tally = Tally(progress=progress)
    started = time.monotonic()
    # schemathesis's own strategies draw from `random`; hypothesis warns of it on every case.
    warnings.filterwarnings("ignore", category=HypothesisDeprecationWarning)
    with app.app_context():
        workflow_support.load_catalogue()
        actors = Actors()
        _seed_applications(app, actors)
        schema = load_schema(app)
        run_stateful(schema, actors, tally, stateful_examples, steps, deterministic)
        run_stateless(schema, actors, tally, examples, deterministic)
    tally.seconds = time.monotonic() - started
    return tally
