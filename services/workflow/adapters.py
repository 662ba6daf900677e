"""Department adapters (the "green channel"): a matter handled by a system instead of a person.

An adapter looks at a claimed task and decides: complete it with outputs, or reject it with a
reason. `act()` carries the decision out through the workflow verbs, exactly as an officer's
request would, so every rule, event and notification of the workflow applies unchanged.
"""
import contextlib
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import rstr
from mongoengine.errors import NotUniqueError

from common import calendar, crypto, i18n
from models.application import Application, Task
from models.family import FamilyMember
from models.user import ADAPTER_USERNAME_PREFIX, Role, User
from services.catalogue import publishing
from services.errors import NotFound, ValidationFailed
from services.identity import numbers
from services.identity.tokens import Principal
from services.workflow import handling

log = logging.getLogger(__name__)

# Staff accounts the adapters act as: one per department, recognisable by this username prefix.
ACCOUNT_PREFIX = ADAPTER_USERNAME_PREFIX
# The same accounts as a prefix range, not a regex (the embedded server misreads a BSON regex on
# an indexed field; a range is portable and uses the index).
ACCOUNT_QUERY = {"username": {"$gte": ACCOUNT_PREFIX, "$lt": ACCOUNT_PREFIX[:-1] + "/"}}
DEFAULT_REGION = "330381"  # Ruian, where the newborn "one thing" began


def make_id_number(*, region: str, birth_date: date, gender: str, rng: random.Random) -> str:
    """A newborn's citizen ID number: the region, the birth date, an order code whose parity
    says the sex, and the GB 11643 check character."""
    return numbers.make_id_number(region, birth_date, rng.randrange(500), gender)


def is_valid_id_number(number: str) -> bool:
    try:
        numbers.validate_id_number(number)
    except ValidationFailed:
        return False
    return True


@dataclass(frozen=True)
class Decision:
    """What an adapter decided: outputs to complete with, or a reason to reject."""

    outputs: dict = field(default_factory=dict)
    reason: str | None = None
    note: str | None = None

    @property
    def rejects(self) -> bool:
        return self.reason is not None


@dataclass
class TaskContext:
    """What an adapter may look at: the task, its application, its matter's output definitions."""

    application: Application
    task: Task
    outputs: list[dict]  # [{"name", "label", "type", "pattern", "required", "elicence"}]
    rng: random.Random
    now: datetime
    _region: str | None = field(default=None, repr=False)

    def form_value(self, name: str) -> Any:
        """A joint-form answer; personal answers are decrypted here and nowhere else."""
        if name in (self.application.form or {}):
            return self.application.form[name]
        token = (self.application.form_protected or {}).get(name)
        if token:
            try:
                return crypto.decrypt(token)
            except crypto.DecryptionError:
                log.warning("a protected answer of application %s cannot be read",
                            self.application.id)
        return None

    @property
    def locale(self) -> str:
        """The applicant's language: a rejection reason is written for them."""
        applicant = User.objects(id=self.application.applicant).only("locale").first()
        return (applicant.locale if applicant is not None else None) or "zh-CN"

    @property
    def local_today(self) -> date:
        return calendar.current().local_date(self.now)

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def region(self) -> str:
        """The parents' region code: the first six digits of a parent's ID number."""
        if self._region is None:
            self._region = self._find_region()
        return self._region

    def _find_region(self) -> str:
        for name in ("applicant_id_number", "spouse_id_number"):
            number = self.form_value(name)
            if isinstance(number, str) and is_valid_id_number(number.upper()):
                return number[:6]
        applicant = User.objects(id=self.application.applicant).only(
            "id_number_encrypted").first()
        if applicant is not None and applicant.id_number_encrypted:
            try:
                number = crypto.decrypt(applicant.id_number_encrypted)
                if is_valid_id_number(number):
                    return number[:6]
            except crypto.DecryptionError:
                pass
        return DEFAULT_REGION


def _generic_value(definition: dict, context: TaskContext) -> Any:
    """A plausible value of an output from its definition alone (type and pattern)."""
    kind, pattern = definition.get("type") or "string", definition.get("pattern")
    if kind == "id_number":
        return make_id_number(region=context.region(), birth_date=date(1990, 1, 1),
                              gender="male", rng=context.rng)
    if kind == "date":
        return context.local_today.isoformat()
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if pattern:
        strings = rstr.Rstr(context.rng)  # the simulator's seeded generator: runs repeat
        for _ in range(20):
            value = strings.xeger(pattern)
            if re.fullmatch(pattern, value):
                return value
    department = context.task.department.upper().replace("_", "")[:4]
    return f"{department}{context.local_today:%Y}{context.digits(8)}"


class DepartmentAdapter:
    """Handles one matter. The base decision completes it with plausible generic outputs."""

    matter: str = ""
    # Realistic handling time in seconds (what an officer or a system typically takes).
    typical_seconds: float = 600

    def values(self, context: TaskContext) -> dict:
        """Specific output values by name; anything missing is made from its definition."""
        return {}

    def check(self, context: TaskContext) -> str | None:
        """A reason to reject the task, in the citizen's language, or None to go ahead."""
        return None

    def decide(self, context: TaskContext) -> Decision:
        reason = self.check(context)
        if reason:
            return Decision(reason=reason)
        specific = self.values(context)
        outputs = {}
        for definition in context.outputs:
            name, pattern = definition["name"], definition.get("pattern")
            value = specific.get(name)
            if value is None or (pattern and not re.fullmatch(pattern, str(value))):
                value = _generic_value(definition, context)
            outputs[name] = value
        return Decision(outputs=outputs)


class GenericAdapter(DepartmentAdapter):
    """Any matter without an adapter of its own."""


REGISTRY: dict[str, DepartmentAdapter] = {}
GENERIC = GenericAdapter()


def register(adapter: DepartmentAdapter) -> DepartmentAdapter:
    REGISTRY[adapter.matter] = adapter
    return adapter


def adapter_for(matter: str) -> DepartmentAdapter:
    return REGISTRY.get(matter, GENERIC)


def _simple(matter: str, seconds: float, make: Callable[[TaskContext], dict]) -> None:
    adapter = type(f"{matter.title().replace('_', '')}Adapter", (DepartmentAdapter,), {
        "matter": matter, "typical_seconds": seconds,
        "values": lambda self, context: make(context)})
    register(adapter())


# The newborn "one thing": what each department's system or officer issues.

class NewbornHouseholdRegistration(DepartmentAdapter):
    """The police's green channel: the baby's citizen ID number within 15 minutes."""

    matter = "newborn_household_registration"
    typical_seconds = 8 * 60

    def _birth(self, context: TaskContext) -> tuple[date | None, str | None]:
        born, gender = context.form_value("newborn_birth_date"), context.form_value(
            "newborn_gender")
        subject = context.application.subject or {}
        if (born is None or gender is None) and subject.get("kind") == "family":

            member = FamilyMember.objects(id=subject.get("id")).only(
                "birth_date", "gender").first()
            if member is not None:
                born, gender = born or member.birth_date, gender or member.gender
        if isinstance(born, str):
            try:
                born = date.fromisoformat(born[:10])
            except ValueError:
                born = None
        if isinstance(born, datetime):
            born = born.date()
        return born, gender

    def check(self, context):
        born, _ = self._birth(context)
        if born is None or born > context.local_today:
            return i18n.text("The baby's date of birth is missing or in the future.",
                             "新生儿出生日期缺失或晚于今天。", locale=context.locale)
        return None

    def values(self, context):
        born, gender = self._birth(context)
        return {"citizen_id_number": make_id_number(
            region=context.region(), birth_date=born, gender=gender or "female",
            rng=context.rng)}


register(NewbornHouseholdRegistration())
_simple("birth_medical_certificate", 6 * 60,
        lambda c: {"birth_certificate_number": c.rng.choice("NOPQRS") + c.digits(9)})
_simple("vaccination_certificate", 5 * 60,
        lambda c: {"vaccination_certificate_number": f"{c.region()}{c.local_today:%y}"
                                                     f"{c.digits(6)}"})
_simple("medical_insurance_enrolment", 10 * 60,
        lambda c: {"medical_insurance_number": f"{c.region()}{c.digits(10)}"})
_simple("medical_insurance_payment", 6 * 60,
        lambda c: {"premium_receipt_number": f"{c.local_today:%Y%m%d}{c.digits(10)}"})
# The electronic card is issued at once; the plastic one goes by post after the task is done.
_simple("citizen_card", 10 * 60,
        lambda c: {"citizen_card_number": f"{c.region()}D{c.rng.choice('1234')}{c.digits(8)}"})
_simple("maternity_insurance_benefit", 20 * 60,
        lambda c: {"maternity_benefit_reference": f"SY{c.local_today:%Y}{c.digits(8)}"})


# Acting through the workflow verbs ----------------------------------------------------------

def account_for(department: str, region: str | None = DEFAULT_REGION) -> Principal:
    """The staff account an adapter acts as in a department of a region (created on first use):
    `adapter.<department>` in Ruian, `adapter.<department>.<region>` elsewhere."""
    region = region or DEFAULT_REGION
    username = (f"{ACCOUNT_PREFIX}{department}" if region == DEFAULT_REGION
                else f"{ACCOUNT_PREFIX}{department}.{region}")
    user = User.objects(username=username).first()
    if user is None:
        now = datetime.now(UTC)
        # update_one, not modify(): the embedded server scans for findAndModify. Another
        # process creating it at the same moment collides: theirs is the one.
        with contextlib.suppress(NotUniqueError):
            User.objects(username=username).update_one(
                upsert=True,
                set_on_insert__role=Role.OFFICER.value, set_on_insert__department=department,
                set_on_insert__region=region, set_on_insert__locale="zh-CN",
                set_on_insert__name=f"Green channel {department} {region}",
                set_on_insert__active=True,
                set_on_insert__created_at=now, set_on_insert__updated_at=now,
                set_on_insert__created_by="adapter")
        user = User.objects.get(username=username)
    return Principal(id=str(user.id), role=Role.OFFICER.value, locale=user.locale or "zh-CN",
                     department=department, region=user.region)


def output_definitions(application: Application, matter: str) -> list[dict]:
    """The outputs a matter declares, as the application's bundle version defines them."""
    try:
        definition = publishing.compiled_bundle(application.bundle, application.bundle_version)
    except NotFound:
        return []
    step = next((s for s in definition.get("steps", []) if s.get("matter") == matter), None)
    return list((step or {}).get("outputs") or [])


def context_for(task_id: str, *, rng: random.Random | None = None,
                now: datetime | None = None) -> TaskContext:
    application = Application.objects(tasks__id=task_id).first()
    task = application.task(task_id) if application is not None else None
    if task is None:
        raise NotFound("Task not found.", "未找到该任务。", error="task_not_found")
    return TaskContext(application=application, task=task,
                       outputs=output_definitions(application, task.matter),
                       rng=rng or random.Random(), now=now or datetime.now(UTC))  # nosec B311  # simulated outputs


def act(*, task_id: str, officer: Principal, rng: random.Random | None = None) -> Application:
    """Let the matter's adapter decide a task the officer has claimed, and carry it out."""

    context = context_for(task_id, rng=rng)
    decision = adapter_for(context.task.matter).decide(context)
    if decision.rejects:
        return handling.reject_task(task_id=task_id, officer=officer, reason=decision.reason)
    return handling.complete_task(task_id=task_id, officer=officer, outputs=decision.outputs,
                                  note=decision.note)
