"""The world a conversation of the runner happens in: the citizen (one of four fixtures), their
applications made before the first turn and moved along by the departments, and the texts'
placeholders."""
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from assistant import knowledge, slots
from common import crypto
from models.application import Application
from models.family import FamilyMember
from models.material import Material, upload_key
from models.user import Role, User
from services.catalogue import joint_form, publishing
from services.identity import numbers
from services.identity.tokens import Principal
from services.materials import vault
from services.workflow import adapters, applications, handling, submission, supplements

NEWBORN_MATERIALS = ("parent_id_card", "household_register", "marriage_certificate",
                     "birth_registration_form")
HAN = re.compile(r"[\u4e00-\u9fff]")


# The citizen, their spouse and their child, named in the conversation's language.
NAMES = {"zh-CN": ("林建国", "陈美玲", "林小雨"),
         "en": ("Lin Jianguo", "Chen Meiling", "Lin Xiaoyu")}


def citizen(n: int, kind: str, locale: str = "zh-CN") -> User:
    if kind not in ("new", "verified", "parent", "parent_child"):
        raise ValueError(f"unknown citizen {kind!r}")
    me, spouse, child = NAMES.get(locale, NAMES["zh-CN"])
    if kind == "new":
        return User(role=Role.CITIZEN.value, name=f"Runner {n}", locale=locale).save()
    phone = f"139{n % 10**8:08d}"
    born = date(1990, 1 + n % 12, 1 + n % 28)
    number = numbers.make_id_number("330381", born, n % 900 + 1, "male")
    user = User(role=Role.CITIZEN.value, name=me, locale=locale,
                phone_encrypted=crypto.encrypt(phone),
                phone_index=crypto.blind_index("phone", phone),
                id_number_encrypted=crypto.encrypt(number),
                id_number_index=crypto.blind_index("id_number", number),
                real_name_verified=True, birth_date=born, gender="male").save()
    _family(user, "spouse", spouse, date(1991, 1 + n % 12, 1 + n % 28), n % 900 + 1, "female")
    if kind == "parent":
        for code in NEWBORN_MATERIALS:
            give_material(user, code)
    if kind == "parent_child":
        today = datetime.now(UTC).date()
        _family(user, "child", child, today.replace(year=today.year - 4, day=1),
                n % 900 + 1, "female")
    return user


def _family(owner: User, relation: str, name: str, born: date, sequence: int, gender: str):
    number = numbers.make_id_number("330381", born, sequence, gender)
    return FamilyMember(owner=str(owner.id), relation=relation, name=name, birth_date=born,
                        gender=gender, id_number_encrypted=crypto.encrypt(number),
                        id_number_index=crypto.blind_index("id_number", number)).save()


def give_material(owner: User, code: str) -> Material:
    """A material in the citizen's vault, as an upload in the app leaves it (metadata only)."""
    sha256 = uuid.uuid4().hex * 2
    return Material(owner=str(owner.id), type=code, sha256=sha256, content_type="image/jpeg",
                    size=1000, status="uploaded", kind="upload",
                    dedup_key=upload_key(str(owner.id), code, sha256)).save()


def principal(user: User) -> Principal:
    return Principal(id=str(user.id), role=user.role, locale=user.locale)


# ── Texts ─────────────────────────────────────────────────────────────────────────────────────

DATE_PLACEHOLDER = re.compile(r"\{date:([+-]\d+)d\}")


def expand(text: Any, citizen: User | None = None) -> str:
    text = str(text)
    text = DATE_PLACEHOLDER.sub(lambda m: (datetime.now(UTC).date() + timedelta(
        days=int(m.group(1)))).isoformat(), text)
    if "{application_id}" in text and citizen is not None:
        latest = applications.list_for_citizen(citizen=citizen)
        text = text.replace("{application_id}", str(latest[0].id) if latest else "none")
    return text


def locale_of(conversation: dict) -> str:
    if conversation.get("locale"):
        return conversation["locale"]
    first = next((t["say"] for t in conversation.get("turns") or [] if "say" in t), "")
    return "zh-CN" if HAN.search(str(first)) else "en"

# ── Applications made before the first turn ───────────────────────────────────────────────────

def _subject(definition: dict, citizen: User) -> tuple[dict, FamilyMember | None]:
    """Whom the application is about, as the assistant would ask (the first child on file)."""
    paths = {f["prefill"] for f in definition["form"]
             if (f.get("prefill") or "").startswith("subject.")}
    if not paths:
        return {"kind": "self"}, None
    newborn = {"subject.name", "subject.birth_date"} <= paths
    if definition.get("life_event") == "birth" and newborn:
        return {"kind": "newborn"}, None
    child = FamilyMember.objects(owner=str(citizen.id), relation="child").first()
    if child is not None:
        return {"kind": "family", "id": str(child.id)}, child
    return ({"kind": "newborn"} if newborn else {"kind": "self"}), None


def submit(citizen: User, bundle: str, answers: dict, locale: str) -> Application:
    """An application with a complete form, each answer read as the assistant reads it."""
    definition = knowledge.definition(bundle, locale)
    subject, member = _subject(definition, citizen)
    known = joint_form.known_values(applicant=citizen, subject_member=member,
                                    subject_is_applicant=subject["kind"] == "self")
    form = {}
    for spec in definition["form"]:
        if not spec.get("required") or known.get(spec.get("prefill")) not in (None, ""):
            continue
        if spec["name"] not in answers:
            raise ValueError(f"no default answer for {bundle}.{spec['name']}")
        form[spec["name"]] = joint_form.check_value(
            spec, slots.read_value(spec, expand(answers[spec["name"]], citizen)))
    for material in publishing.materials_to_give(definition):
        if not vault.on_file(owner_id=str(citizen.id), types=[material["code"]]):
            give_material(citizen, material["code"])
    return submission.submit_application(
        applicant_id=str(citizen.id), bundle=bundle, subject=subject, form=form, materials=[],
        idempotency_key=f"runner-{uuid.uuid4().hex}", channel="app")


def _work(application: Application, matters: list[str], *, complete: bool) -> Application:
    """Claim (and complete, as each department's system would) these matters in dependency
    order."""
    order = [t.matter for t in application.tasks]
    for matter in sorted(matters, key=lambda m: order.index(m) if m in order else len(order)):
        task = Application.objects.get(id=application.id).task_for(matter)
        officer = adapters.account_for(task.department)
        handling.claim_task(task_id=task.id, officer=officer)
        if complete:
            adapters.act(task_id=task.id, officer=officer)
    return Application.objects.get(id=application.id)


def make_progress(application: Application, progress) -> None:
    if progress in (None, "submitted"):
        return
    application = _work(application, list(progress.get("done") or []), complete=True)
    application = _work(application, list(progress.get("claimed") or []), complete=False)
    asked = progress.get("supplement")
    if asked:
        application = _work(application, [asked["matter"]], complete=False)
        task = application.task_for(asked["matter"])
        definition = applications.definition_of(application.bundle, application.bundle_version)
        fields = [f["name"] for f in definition["form"] if task.matter in (f.get("matters") or [])]
        supplements.request_supplement(
            task_id=task.id, officer=adapters.account_for(task.department),
            materials=list(task.material_types or [])[:1],
            fields=[] if task.material_types else fields[:1],
            reason=asked.get("reason") or "材料不清晰")


