"""Whom an application is about: the subject a citizen names (themselves, a family member, a
newborn the joint form adds), the ID numbers of family members typed into the form, and which
stored family members an application can concern at all."""
import hashlib
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime

from bson import ObjectId

from common import crypto, i18n
from models.user import User
from services.errors import ValidationFailed
from services.identity import family_members, family_numbers
from services.identity.numbers import ID_NUMBER_SHAPE
from services.workflow import idempotency

SUBJECT_KINDS = ("self", "family", "newborn")


def subject_error(en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, errors={"subject": [i18n.text(en, zh)]})


def prefilled_by(definition: dict, path: str) -> dict | None:
    return next((f for f in definition["form"] if f.get("prefill") == path), None)


def natural_subject(definition: dict) -> dict:
    """Whom an application is about when it names no one: the bundle says (a newborn for the
    newborn bundle), else the applicant."""
    return {"kind": definition.get("subject") or "self"}


def resolve(subject: dict | None, definition: dict, family: list):
    """(kind, family member or None) for the subject the citizen names, or the bundle's
    natural one when they name none."""
    subject = subject or natural_subject(definition)
    kind = subject.get("kind") or "self"
    if kind not in SUBJECT_KINDS:
        raise subject_error("The subject is self, family or newborn.",
                             "申请对象应为本人（self）、家庭成员（family）或新生儿（newborn）。")
    if kind == "self":
        return kind, None
    if kind == "family":
        member_id = str((subject or {}).get("id") or "")
        member = next((m for m in family if str(m.id) == member_id), None)
        if member is None:
            raise subject_error("No such family member.", "未找到该家庭成员。")
        return kind, member
    if not (prefilled_by(definition, "subject.name")
            and prefilled_by(definition, "subject.birth_date")):
        raise subject_error("This application does not register a newborn.",
                             "该事项不能为新生儿申请。")
    return kind, None


def newborn_id(applicant: User, scoped_key: str) -> ObjectId:
    """The family entry id of the newborn one keyed request adds: its retries and concurrent
    twins add the same entry, so the child is never there twice."""
    digest = hashlib.sha256(f"newborn:{applicant.id}:{scoped_key}".encode()).digest()
    return ObjectId(digest[:12])


def child_from_form(applicant: User, definition: dict, clean: dict, family: list,
                     scoped_key: str, entries: list):
    """The newborn named in the form, as the applicant's child (the existing entry if any).
    A new entry of `entries` (family_members.new_entry's) is written with it, in the same
    command, and taken off the list."""
    def answer(path: str):
        spec = prefilled_by(definition, path)
        return clean.get(spec["name"]) if spec else None

    name, born, gender = answer("subject.name"), answer("subject.birth_date"), answer(
        "subject.gender")
    if not name or not born:
        raise subject_error("The newborn's name and birth date are needed.",
                             "请填写新生儿的姓名和出生日期。")
    for member in family:
        if (member.relation == "child" and member.name == name and member.birth_date
                and member.birth_date.isoformat() == born):
            return member
    child = family_members.add_newborn_once(
        owner=applicant, member_id=newborn_id(applicant, scoped_key), name=name,
        birth_date=date.fromisoformat(born), gender=gender,
        with_entry=entries.pop() if entries else None)
    if child.name != name or child.birth_date != date.fromisoformat(born):
        raise idempotency.reused()  # this key already added another baby: another request's
    return child


# Prefills of ID numbers of family members → (relation of a new record, prefill of its name).
FAMILY_NUMBERS = {"spouse.id_number": ("spouse", "spouse.name"),
                  "subject.id_number": (None, "subject.name")}


def typed_family_numbers(definition: dict, clean: dict, known: dict, family: list,
                          subject_member) -> list[dict]:
    """The family members' ID numbers the applicant typed (none was on file to prefill), each
    with the record it is for (None: one yet to be made)."""
    typed = []
    for field in definition["form"]:
        prefill = field.get("prefill")
        if prefill not in FAMILY_NUMBERS or field["name"] not in clean or known.get(prefill):
            continue
        relation, name_prefill = FAMILY_NUMBERS[prefill]
        member = (next((m for m in family if m.relation == relation), None) if relation
                  else subject_member)
        name_field = prefilled_by(definition, name_prefill)
        typed.append({"field": field["name"], "number": clean[field["name"]], "member": member,
                      "relation": relation or (member.relation if member else None),
                      "name": clean.get(name_field["name"]) if name_field else None})
    return typed


def check_family_numbers(applicant: User, typed: list[dict], family: list,
                          known: family_members.Known, errors: dict) -> str | None:
    """The slug of the first refusal, its message added to `errors`."""
    refusal = None
    for given in typed:
        try:
            family_numbers.check(applicant=applicant, family=family, field=given["field"],
                                 number=given["number"], member=given["member"],
                                 known=known)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            refusal = refusal or exc.error
    return refusal


def typed_in(form: dict) -> tuple[set[str], set[date]]:
    """The blind indexes of the ID numbers typed in a form, and its dates."""
    numbers, dates = set(), set()
    for value in (v for v in form.values() if isinstance(v, str)):
        number = crypto.normalize("id_number", value)
        if ID_NUMBER_SHAPE.match(number):
            numbers.add(crypto.blind_index("id_number", number))
            continue
        with suppress(ValueError):
            dates.add(date.fromisoformat(value))
    return numbers, dates


def family_that_may_matter(subject: dict | None, numbers: set[str],
                            dates: set[date]) -> Callable[[dict], bool]:
    """The family members an application can concern, as a test of their stored documents: the
    spouse (prefills), the member it names, any member with an ID number typed in the form (the
    family check: `numbers`, their blind indexes), and a child born on a date in the form
    (`dates`: the newborn it may already have added). Only these are decrypted: the cost of
    applying does not grow with the family."""
    named = str(subject.get("id") or "") if isinstance(subject, dict) else ""

    def may_matter(member: dict) -> bool:
        born = member.get("birth_date")
        return (member.get("relation") == "spouse" or str(member.get("_id")) == named
                or member.get("id_number_index") in numbers
                or (member.get("relation") == "child" and isinstance(born, datetime)
                    and born.date() in dates))
    return may_matter
