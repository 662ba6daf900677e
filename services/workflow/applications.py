"""What a citizen may see of applications: theirs and their minor children's, in their language."""
import base64
import json
import zlib

from bson import ObjectId

from common import crypto, i18n
from models.application import Application, TaskStatus
from models.catalogue import BundleVersion
from services.catalogue import joint_form
from services.errors import NotFound
from services.identity import family_members
from services.regions import divisions
from services.workflow import events

# Published snapshots never change (bundle and version are unique, written once): each process
# may keep the ones it has read.
_definitions: dict[tuple[str, int], dict] = {}


def definition_of(bundle: str, version: int) -> dict:
    """The compiled bundle exactly as it was at that version (language-neutral)."""
    key = (bundle, int(version))
    if key not in _definitions:
        snapshot = BundleVersion._get_collection().find_one(
            {"bundle": bundle, "version": int(version)}, {"definition": 1})
        if snapshot is None:
            raise NotFound("No version {v} of bundle {b}.", "一件事 {b} 没有版本 {v}。",
                           error="bundle_not_found", b=bundle, v=version)
        _definitions[key] = snapshot["definition"]
    return _definitions[key]


class Stored(dict):
    """An application's document as it is stored, read like the model: `.status`, `.id` for
    `_id`, None for a field it lacks (as the model's attributes are). The request that writes a
    new application renders its answer from the document it inserts: building the mongoengine
    document for that (and the walk of its lists on their first read) cost more CPU than the
    rendering itself. Tasks are Stored too."""

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and the like look for these: not fields
            raise AttributeError(name)
        if name == "id" and "_id" in self:  # a task's id is its own field
            return self["_id"]
        return self.get(name)


def step_of(definition: dict, matter: str) -> dict:
    return next((s for s in definition["steps"] if s["matter"] == matter), {})


def reveal(value):
    """An output or input in clear, for those entitled to it."""
    if isinstance(value, dict) and "encrypted" in value:
        return crypto.decrypt(value["encrypted"])
    return value


def seal_name(name: str | None) -> dict | None:
    """A person's name as it rests on an application: encrypted."""
    return {"encrypted": crypto.encrypt(name)} if name else None


def subject_name(application: Application) -> str | None:
    """The name of whom the application is about (older applications kept it in the clear)."""
    return reveal((application.subject or {}).get("name"))


def seal_answer(answer: dict) -> dict:
    """The first answer, kept for retries, encrypted: it holds the citizen's personal answers.
    Compressed first: it was 44 % of an application's bytes, which every transition rewrites.
    The compressed bytes are encrypted as they are (the token is base64 already): a text
    encoding before it (base85, in pure Python) cost more CPU than the rest of the sealing."""
    packed = zlib.compress(json.dumps(answer, ensure_ascii=False, default=str).encode(), 6)
    return {"sealed_zb": crypto.encrypt_bytes(packed)}


def first_answer(application: Application) -> dict | None:
    """The answer the request that made the application got, to be given again to its retries."""
    kept = application.first_response or {}
    if "sealed_zb" in kept:
        return json.loads(zlib.decompress(crypto.decrypt_bytes(kept["sealed_zb"])))
    if "sealed_z" in kept:  # sealed before: base85 text of the compressed answer
        packed = base64.b85decode(crypto.decrypt(kept["sealed_z"]))
        return json.loads(zlib.decompress(packed))
    return json.loads(crypto.decrypt(kept["sealed"])) if "sealed" in kept else (kept or None)


def masked(value):
    """An output or input as the citizen sees it: personal data masked."""
    if isinstance(value, dict) and "encrypted" in value:
        return joint_form.mask(value.get("type"), crypto.decrypt(value["encrypted"]))
    return value


# ── Queries ────────────────────────────────────────────────────────────────────────────────────

def user_id_of(who) -> str:
    """The id of a user given as a document, an ObjectId or a string."""
    return str(who if isinstance(who, str | ObjectId) else who.id)


def officer_fence(officer) -> dict:
    """What a task must match for an officer to see or touch it: their department in their
    region. Put in the same query as the task's id, so the fence costs no round trip, and
    another region's task is exactly as missing as one that does not exist."""
    return {"department": officer.department, "region": officer.region or None}


def in_fence(task, officer) -> bool:
    """Whether the task is the officer's to see: their department in their region."""
    fence = officer_fence(officer)
    return (bool(officer.department) and task is not None
            and task.department == fence["department"] and (task.region or None) == fence["region"])


def officer_task(task_id: str, officer, *excluded: str) -> Application | None:
    """The application holding the task if the task is within the officer's fence, else None
    (another region's task is as missing as one that does not exist).

    Selected by the task's id alone, which its index serves; the fence is checked on the one
    application found. With `$elemMatch` in the filter the server scanned every application."""
    if not officer.department:
        return None
    application = Application.objects(__raw__={"tasks.id": str(task_id)}).exclude(
        *excluded).first()
    if application is None or not in_fence(application.task(str(task_id)), officer):
        return None
    return application


def may_see(application: Application, citizen) -> bool:
    """The applicant, and a parent of the minor child the application is about."""
    citizen_id = user_id_of(citizen)
    if application.applicant == citizen_id:
        return True
    subject_id = (application.subject or {}).get("id")
    return bool(subject_id) and family_members.may_act_for(user_id=citizen_id,
                                                           subject_id=subject_id)


def get_for_citizen(*, application_id: str, citizen) -> Application:
    """One application the citizen may see; anyone else's is not found (404)."""
    application = (Application.objects(id=application_id).exclude("outbox", "first_response")
                   .first()
                   if ObjectId.is_valid(str(application_id)) else None)
    if application is None or not may_see(application, citizen):
        raise NotFound("No such application.", "未找到该办件。", error="application_not_found")
    return application


class CitizenApplications:
    """A citizen's applications, newest first, known by id and creation time before any is read
    whole: counting them costs no command, and a page reads only its own documents (the count
    and the page each read every one of the citizen's ≈ 16 KB applications when they were a
    query). Pages like a mongoengine query: count(), skip(), limit(), iteration."""

    def __init__(self, newest_first: list[ObjectId], first: int = 0, size: int | None = None):
        self.ids, self.first, self.size = newest_first, first, size

    def count(self) -> int:
        return len(self.ids)

    def skip(self, first: int) -> "CitizenApplications":
        return CitizenApplications(self.ids, first, self.size)

    def limit(self, size: int) -> "CitizenApplications":
        return CitizenApplications(self.ids, self.first, size)

    def __iter__(self):
        page = self.ids[self.first:None if self.size is None else self.first + self.size]
        if not page:
            return iter(())
        # By `_id` alone, the one filter the server answers by point lookups.
        found = {a.pk: a for a in Application.objects(__raw__={"_id": {"$in": page}}).exclude(
            "outbox", "events", "first_response")}
        return iter([found[i] for i in page if i in found])


def for_citizen(*, citizen, status: str | None = None) -> CitizenApplications:
    """The citizen's applications and those about their minor children, newest first, as a
    listing a caller can page."""
    citizen_id = user_id_of(citizen)
    # Two queries, each on its own index: the server plans no `$or` on indexes, and one `$or`
    # of applicant and subject read every application ever made.
    theirs = {"applicant": citizen_id}
    about_theirs = {"subject.id": {"$in": family_members.subject_ids_for(citizen_id)}}
    created = {row["_id"]: row["created_at"] for query in (theirs, about_theirs)
               for row in Application.objects(__raw__=query).only(
                   "id", "status", "created_at").as_pymongo()
               if not status or row.get("status") == status}
    return CitizenApplications(sorted(created, key=lambda i: (created[i], i), reverse=True))


def list_for_citizen(*, citizen, status: str | None = None) -> list[Application]:
    """All of them (the assistant's status answers and its evaluation)."""
    return list(for_citizen(citizen=citizen, status=status))


def timeline_for_citizen(*, application_id: str, citizen) -> list[dict]:
    """The application's events, oldest first, as the citizen reads them."""
    application = get_for_citizen(application_id=application_id, citizen=citizen)
    return timeline(application)


def timeline(application: Application, locale: str | None = None) -> list[dict]:
    return [events.render(application, item, locale) for item in application.events or []]


# ── Views ──────────────────────────────────────────────────────────────────────────────────────

def _named(code: str, names: dict | None) -> dict:
    return {"code": code, "name": i18n.pick(names) or code}


def supplement_view(request: dict | None, definition: dict) -> dict | None:
    """The consolidated supplement request with names and labels in the reader's language."""
    if not request:
        return None
    materials = {m["code"]: m for m in definition["materials"]}
    fields = {f["name"]: f for f in definition["form"]}
    steps = {s["matter"]: s for s in definition["steps"]}
    return {
        "id": request.get("id"), "requested_at": request.get("requested_at"),
        "materials": [_named(code, (materials.get(code) or {}).get("names"))
                      for code in request.get("materials") or []],
        "fields": [{"name": name, "label": i18n.pick((fields.get(name) or {}).get("labels"))
                    or name, "type": (fields.get(name) or {}).get("type")}
                   for name in request.get("fields") or []],
        "reasons": [{"task": r.get("task"),
                     "matter": _named(r["matter"], (steps.get(r["matter"]) or {}).get("names")),
                     "department": _named(r["department"], (steps.get(r["matter"]) or {}).get(
                         "department_names")),
                     "reason": r.get("reason")} for r in request.get("reasons") or []],
    }


def form_view(application: Application, definition: dict, *, names=None,
              reveal_personal: bool = False, owner: bool = False) -> dict:
    """The joint form's answers; personal data masked unless the reader is entitled to it (an
    officer whose task needs it); the owner sees their names and addresses, not their numbers."""
    kinds = {f["name"]: joint_form.personal_kind(f) for f in definition["form"]}
    answers = dict(application.form or {})
    for name, token in (application.form_protected or {}).items():
        value = crypto.decrypt(token)
        answers[name] = value if reveal_personal else joint_form.mask(kinds.get(name), value,
                                                                      owner=owner)
    if names is not None:
        answers = {k: v for k, v in answers.items() if k in set(names)}
    return answers


def _window(window: dict | None) -> dict | None:
    if not window:
        return None
    return {"address": i18n.pick(window.get("address")) or None,
            "hours": i18n.pick(window.get("hours")) or None, "phone": window.get("phone")}


def _region_name(code: str | None) -> str | None:
    region = divisions.find(code)
    return region.name() if region is not None else None


def _task_view(task) -> dict:
    visible_reason = task.status in (TaskStatus.REJECTED, TaskStatus.NEEDS_SUPPLEMENT)
    return {
        "id": task.id, "matter": task.matter, "name": i18n.pick(task.name) or task.matter,
        "department": task.department,
        "department_name": i18n.pick(task.department_name) or task.department,
        "region": task.region, "region_name": _region_name(task.region),
        "promised": dict(task.promised) if task.promised else None,
        "window": _window(task.window),
        "status": task.status, "depends_on": list(task.depends_on or []),
        "outputs": {k: masked(v) for k, v in (task.outputs or {}).items()},
        "due_at": task.due_at, "overdue": bool(task.overdue), "released_at": task.released_at,
        "completed_at": task.completed_at,
        "reason": task.reason if visible_reason else None,
    }


def citizen_view(application: Application) -> dict:
    """An application as its citizen sees it: no officers' names, no internal notes."""
    definition = definition_of(application.bundle, application.bundle_version)
    subject = application.subject or {}
    return {
        "id": str(application.id), "bundle": application.bundle,
        "bundle_name": i18n.pick(application.bundle_name) or application.bundle,
        "bundle_version": application.bundle_version, "status": application.status,
        "region": application.region, "region_name": _region_name(application.region),
        "subject": {"kind": subject.get("kind"), "id": subject.get("id"),
                    "relation": subject.get("relation"), "name": subject_name(application)},
        "form": form_view(application, definition, owner=True),
        "materials": list(application.materials or []),
        "tasks": [_task_view(t) for t in application.tasks],
        "supplement": supplement_view(application.supplement, definition),
        "reason": application.reason, "eta": application.eta,
        "channel": application.channel, "station": application.station,
        "created_at": application.created_at, "updated_at": application.updated_at,
        "completed_at": application.completed_at,
    }
