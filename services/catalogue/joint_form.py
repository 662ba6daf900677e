"""The joint form's answers: what the system already knows is filled in, the rest is validated."""
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from common import calendar, crypto, i18n
from services.errors import ValidationFailed
from services.identity import citizens, family_members, numbers

# Answers that are personal data: kept encrypted at rest, masked for the citizen.
PERSONAL_TYPES = frozenset({"id_number", "phone"})
MAX_LENGTH = {"string": 200, "text": 2000}
RELATIVE_DATE = re.compile(r"^([+-])(\d{1,3})([dwmy])$")


def _label(field: Mapping) -> str:
    return i18n.pick(field.get("labels")) or field.get("label") or field["name"]


def _today() -> date:
    return calendar.current().local_date(datetime.now(UTC))


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def resolve_date(spec: str | None) -> date | None:
    """An ISO date, "today", or a shift from today: "-30d", "+2w", "-6m", "-1y"."""
    if not spec:
        return None
    spec = spec.strip()
    today = _today()
    if spec == "today":
        return today
    match = RELATIVE_DATE.match(spec)
    if not match:
        return date.fromisoformat(spec)
    sign = -1 if match.group(1) == "-" else 1
    amount, unit = int(match.group(2)) * sign, match.group(3)
    if unit == "d":
        return today + timedelta(days=amount)
    if unit == "w":
        return today + timedelta(weeks=amount)
    if unit == "y":
        return _shift_years(today, amount)
    months = today.year * 12 + today.month - 1 + amount
    year, month = divmod(months, 12)
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month + 1, day)
        except ValueError:
            continue
    return None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def check_value(field: Mapping, value):
    """The clean value of one answer, or raise ValueError with the message for the citizen."""
    kind = field.get("type") or "string"
    label = _label(field)
    if kind in ("string", "text"):
        if not isinstance(value, str):
            raise ValueError(i18n.text("{f} must be text.", "{f}应为文字。", f=label))
        value = value.strip()
        if len(value) > MAX_LENGTH[kind]:
            raise ValueError(i18n.text("{f} is too long (at most {n} characters).",
                                       "{f}过长（最多 {n} 个字符）。", f=label, n=MAX_LENGTH[kind]))
    elif kind in ("integer", "number"):
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
            value = float(value) if "." in value else int(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                kind == "integer" and isinstance(value, float) and not value.is_integer()):
            raise ValueError(i18n.text("{f} must be a whole number.", "{f}应为整数。", f=label)
                             if kind == "integer" else
                             i18n.text("{f} must be a number.", "{f}应为数字。", f=label))
        value = int(value) if kind == "integer" else value
        if field.get("min") is not None and value < field["min"]:
            raise ValueError(i18n.text("{f} must be at least {n:g}.", "{f}不能小于 {n:g}。",
                                       f=label, n=field["min"]))
        if field.get("max") is not None and value > field["max"]:
            raise ValueError(i18n.text("{f} must be at most {n:g}.", "{f}不能大于 {n:g}。",
                                       f=label, n=field["max"]))
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(i18n.text("{f} must be yes or no.", "{f}应为是或否。", f=label))
    elif kind == "date":
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(i18n.text("{f} must be a date (YYYY-MM-DD).",
                                       "{f}应为日期（YYYY-MM-DD）。", f=label))
        earliest, latest = resolve_date(field.get("min_date")), resolve_date(field.get("max_date"))
        if earliest and day < earliest:
            raise ValueError(i18n.text("{f} cannot be before {d}.", "{f}不能早于 {d}。",
                                       f=label, d=earliest.isoformat()))
        if latest and day > latest:
            raise ValueError(i18n.text("{f} cannot be after {d}.", "{f}不能晚于 {d}。",
                                       f=label, d=latest.isoformat()))
        value = day.isoformat()
    elif kind == "choice":
        choices = list(field.get("choices") or [])
        if value not in choices:
            raise ValueError(i18n.text("{f} must be one of: {c}.", "{f}应为以下之一：{c}。",
                                       f=label, c=", ".join(choices)))
    elif kind == "phone":
        value = crypto.normalize("phone", value) if isinstance(value, str) else ""
        if not numbers.MOBILE.match(value):
            raise ValueError(i18n.text("{f} must be an 11-digit mainland mobile number.",
                                       "{f}应为 11 位中国大陆手机号码。", f=label))
    elif kind == "id_number":
        if not isinstance(value, str):
            raise ValueError(i18n.text("{f} must be a resident ID number.",
                                       "{f}应为公民身份号码。", f=label))
        try:
            numbers.validate_id_number(value)
        except ValidationFailed as exc:
            raise ValueError(f"{label}: {exc.message}") from None
        value = crypto.normalize("id_number", value)
    pattern = field.get("pattern")
    if pattern and isinstance(value, str) and not re.fullmatch(pattern, value):
        raise ValueError(i18n.text("{f} is not in the expected format.", "{f}格式不正确。",
                                   f=label))
    return value


def validate(fields: Iterable[Mapping], answers: Mapping, known: Mapping | None = None, *,
             only: Iterable[str] | None = None, key: str = "form") -> dict:
    """The clean answers to a form: known values filled in, each answer checked against its field.

    Raises ValidationFailed with one message list per field (`form.<name>`) when any is wrong.
    With `only`, just those fields are asked (a supplement answering some of them).
    """
    fields = [f for f in fields if only is None or f["name"] in set(only)]
    by_name = {f["name"]: f for f in fields}
    known = known or {}
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for name in answers or {}:
        if name not in by_name:
            errors[f"{key}.{name}"] = [i18n.text("Unknown field.", "未知字段。")]
    for name, field in by_name.items():
        prefill = field.get("prefill")
        value = known.get(prefill) if prefill else None
        if _blank(value):
            value = (answers or {}).get(name)
        if _blank(value):
            if field.get("required") or only is not None:
                errors[f"{key}.{name}"] = [i18n.text("{f} is required.", "请填写{f}。",
                                                     f=_label(field))]
            continue
        try:
            clean[name] = check_value(field, value)
        except ValueError as exc:
            errors[f"{key}.{name}"] = [str(exc)]
    if errors:
        raise ValidationFailed("Some answers of the form are not valid.", "申请表部分内容有误。",
                               errors=errors)
    return clean


def personal_kind(field: Mapping) -> str | None:
    """What personal data a field holds (id_number, phone, name, address, account), if any."""
    return field.get("personal") or (field.get("type") if field.get("type") in PERSONAL_TYPES
                                     else None)


def split_personal(fields: Iterable[Mapping], clean: Mapping) -> tuple[dict, dict]:
    """(plain answers, encrypted answers): personal data never rests in the clear."""
    personal = {f["name"] for f in fields if personal_kind(f)}
    plain = {k: v for k, v in clean.items() if k not in personal}
    protected = {k: crypto.encrypt(str(v)) for k, v in clean.items() if k in personal}
    return plain, protected


def mask(kind: str | None, value: str, *, owner: bool = False) -> str:
    """A personal answer as shown: numbers always masked; names and addresses in full only to
    their owner (the citizen who gave them)."""
    if kind == "phone":
        return crypto.mask_phone(value)
    if kind == "id_number":
        return crypto.mask_id_number(value)
    if kind == "account":
        return crypto.mask_account(value)
    if kind in ("name", "address") and not owner:
        return crypto.mask_text(value)
    return value


def known_values(*, applicant, subject_member=None, subject_is_applicant: bool,
                 family: Iterable | None = None) -> dict:
    """What the system knows for prefills: applicant.*, spouse.*, subject.*. `family`: the
    applicant's family members when the caller has them already."""
    known: dict = {}

    def person(prefix: str, holder, verified: bool = True) -> None:
        if holder is None:
            return
        if verified and holder.name:
            known[f"{prefix}.name"] = holder.name
        number = citizens.id_number_of(holder)
        if number:
            known[f"{prefix}.id_number"] = number
        if getattr(holder, "birth_date", None):
            known[f"{prefix}.birth_date"] = holder.birth_date.isoformat()
        if getattr(holder, "gender", None):
            known[f"{prefix}.gender"] = holder.gender

    # A citizen's display name is not verified: only a real-name verified name is prefilled.
    person("applicant", applicant, verified=bool(applicant.real_name_verified))
    phone = citizens.phone_of(applicant)
    if phone:
        known["applicant.phone"] = phone
    if family is None:
        family = family_members.family_of(str(applicant.id))
    spouse = next((m for m in family if m.relation == "spouse"), None)
    person("spouse", spouse)
    if subject_is_applicant:
        person("subject", applicant, verified=bool(applicant.real_name_verified))
    else:
        person("subject", subject_member)
        if subject_member is not None:
            known["subject.relation"] = subject_member.relation
    return known
