"""The citizen's vault: what is on file, what an application may use, issued e-licences."""
import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from common import crypto
from common.i18n import pick, text
from models import indexed_writes
from models.application import Application
from models.audit import MaterialAction
from models.base import utcnow
from models.catalogue import Department, MaterialType
from models.material import (
    Material,
    MaterialKind,
    MaterialStatus,
    elicence_key,
)
from services.errors import InvalidState, ServiceUnavailable, ValidationFailed
from services.materials import access as material_access
from services.materials import uploads
from services.materials.access import Access

log = logging.getLogger(__name__)

ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


def _preference(material: Material, subject_id: str | None) -> tuple:
    # Smaller sorts first: about this very subject, then issued or verified, then the newest.
    about_subject = subject_id is not None and material.subject == subject_id
    trusted = material.is_elicence or material.status == MaterialStatus.VERIFIED
    return (not about_subject, not trusted, -material.created_at.timestamp())


def on_file(*, owner_id: str, types: Iterable[str], subject_id: str | None = None
            ) -> dict[str, str]:
    """For each material type asked, the best usable material already in the owner's vault.

    Usable: not rejected, not expired, within its validity. Preferred: about the subject, then
    e-licences and verified materials, then the newest. With a subject, materials about another
    person are left out; materials about nobody in particular (the owner's own) still count.
    """
    wanted = sorted({str(t) for t in types if t})
    if not wanted:
        return {}
    query = Material.objects.owned_by(owner_id).usable().filter(type__in=wanted)
    if subject_id is not None:
        query = query.filter(subject__in=[str(subject_id), None])
    best: dict[str, Material] = {}
    for material in query.only("id", "type", "subject", "kind", "status", "created_at"):
        current = best.get(material.type)
        if current is None or _preference(material, subject_id) < _preference(current,
                                                                               subject_id):
            best[material.type] = material
    return {code: str(material.id) for code, material in best.items()}


def _object_id(value) -> ObjectId | None:
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def material_object_ids(material_ids: Iterable[str]) -> list[ObjectId]:
    """The ids a request names that can be ids at all (the others are reported missing)."""
    return [oid for oid in (_object_id(m) for m in dict.fromkeys(material_ids or []))
            if oid is not None]


def resolve_for_application(*, owner_id: str, material_ids: Iterable[str],
                            allowed_types: Iterable[str] | None,
                            stored: list[dict] | None = None) -> list[Material]:
    """The owner's usable materials for these ids, each of a type the application asks for.

    Any id that is missing, not the owner's, rejected, expired or of a type not asked for makes
    the whole call fail with a ValidationFailed naming each bad id (under "materials").
    `stored`: the documents of material_object_ids(material_ids) when the caller has read them
    already (in its own round trip); else they are read here.
    """
    ids = list(dict.fromkeys(str(m) for m in material_ids or []))
    allowed = None if allowed_types is None else {str(t) for t in allowed_types}
    if stored is None:
        found = {str(m.id): m for m in Material.objects(
            owner=str(owner_id), id__in=material_object_ids(ids))}
    else:
        found = {str(m.id): m for m in (Material._from_son(d) for d in stored)
                 if m.owner == str(owner_id)}
    problems: list[str] = []
    for mid in ids:
        material = found.get(mid)
        if material is None:
            problems.append(text("Material {id} is not in your vault.",
                                 "材料 {id} 不在您的材料库中。", id=mid))
        elif not material.usable:
            problems.append(text("Material {id} is {status} and cannot be used.",
                                 "材料 {id} 状态为{status}，不能使用。", id=mid,
                                 status=_status_label(material.effective_status)))
        elif allowed is not None and material.type not in allowed:
            problems.append(text("Material {id} ({type}) is not asked for by this application.",
                                 "本申请不需要材料 {id}（{type}）。", id=mid, type=material.type))
    if problems:
        raise ValidationFailed("Some materials cannot be used.", "部分材料不能使用。",
                               error="invalid_materials", errors={"materials": problems})
    return [found[mid] for mid in ids]


def _status_label(status: str) -> str:
    labels = {"rejected": ("rejected", "已退回"), "expired": ("expired", "已过期"),
              "uploaded": ("uploaded", "已上传"), "verified": ("verified", "已核验")}
    en, zh = labels.get(status, (status, status))
    return text(en, zh)


def _encrypt_number(number: str | None) -> str | None:
    if not number:
        return None

    return crypto.encrypt(str(number))


def elicence_id(*, task_id: str, type: str) -> str:
    """The id the e-licence of this task and type gets: known before it is issued, so the
    completing write can already name it on the task."""
    key = elicence_key(str(task_id), str(type))
    return str(ObjectId(hashlib.sha256(key.encode()).digest()[:12]))


def issue_elicence(*, owner_id: str, subject_id: str | None, type: str, issuer: str,
                   number: str | None, application_id: str, task_id: str,
                   valid_until: datetime | None = None) -> Material:
    """Put the e-licence a completed task issued in the applicant's vault, once per task and type.

    Issuing again (a retried completion) returns the first e-licence unchanged. One upsert
    decides, and answers what is stored: two completions racing still leave exactly one.
    """
    key = elicence_key(str(task_id), str(type))
    now = utcnow()
    fields = {
        "_id": ObjectId(elicence_id(task_id=task_id, type=type)),
        "owner": str(owner_id), "subject": str(subject_id) if subject_id else None,
        "type": str(type), "kind": MaterialKind.ELICENCE.value,
        "status": MaterialStatus.VERIFIED.value, "issuer": str(issuer),
        "number_encrypted": _encrypt_number(number), "valid_until": valid_until,
        "application": str(application_id), "task": str(task_id), "dedup_key": key,
        "created_at": now, "updated_at": now,
    }
    insert = {k: v for k, v in fields.items() if v is not None}
    for _ in range(3):
        try:
            # update_one, not findAndModify (a collection scan on the embedded server, see
            # models/indexed_writes.py): what it inserts is known; one already issued is read.
            written = Material._get_collection().update_one(
                {"dedup_key": key}, {"$setOnInsert": insert}, upsert=True)
            stored = (indexed_writes.as_stored(Material._get_collection(), insert)
                      if written.upserted_id is not None
                      else Material._get_collection().find_one({"dedup_key": key}))
        except DuplicateKeyError:
            stored = None
        # None or a duplicate: the other upsert inserted it first; asked again, it matches.
        if stored is not None:
            break
    else:
        raise ServiceUnavailable("The e-licence could not be written; try again.",
                                 "电子证照写入失败，请重试。")
    material = Material._from_son(stored)
    log.info("e-licence %s issued: type %s by %s for task %s", material.id, type, issuer, task_id)
    return material


def licence_number(material: Material) -> str | None:
    """The e-licence number in clear, for those entitled to it."""
    if not material.number_encrypted:
        return None

    return crypto.decrypt(material.number_encrypted)


def mask_number(number: str | None) -> str | None:
    """Licence numbers that are resident ID numbers are masked like every ID number."""
    if not number:
        return number

    if ID_NUMBER.match(number.strip()):
        return crypto.mask_id_number(number)
    return number


def vault_of(*, owner_id: str, type: str | None = None, subject_id: str | None = None):
    """Everything in a citizen's vault, uploads and e-licences, newest first, as a query a
    caller can page."""
    query = Material.objects.owned_by(owner_id)
    if type:
        query = query.filter(type=type)
    if subject_id:
        query = query.filter(subject=str(subject_id))
    return query.order_by("-created_at")


def list_vault(*, owner_id: str, type: str | None = None, subject_id: str | None = None
               ) -> list[Material]:
    return list(vault_of(owner_id=owner_id, type=type, subject_id=subject_id))


def upload(*, owner_id: str, type_code: str, stream, filename: str | None = None,
           subject_id: str | None = None) -> tuple[dict, bool]:
    """Keep an upload in the owner's vault (see uploads.store_upload); the material as its
    owner sees it, and whether it is new. The type is read once, for both."""
    material_type = uploads.material_type_or_422(type_code)
    material, created = uploads.store_upload(
        owner_id=owner_id, type_code=type_code, stream=stream, filename=filename,
        subject_id=subject_id, material_type=material_type)
    return describe([material], type_names={material_type.code: material_type.name})[0], created


def describe(materials: list[Material], *, type_names: dict | None = None) -> list[dict]:
    """Materials as readers see them: type and issuer named in their language, status as of now,
    licence numbers masked. One lookup for all the names, however many materials (none for
    names the caller gives, nor for issuers when none has one)."""
    types = dict(type_names or {})
    unknown = list({m.type for m in materials} - set(types))
    if unknown:
        types.update({t.code: t.name for t in MaterialType.objects(code__in=unknown).only(
            "code", "name")})
    issuer_codes = list({m.issuer for m in materials if m.issuer})
    issuers = ({d.code: d.name for d in Department.objects(code__in=issuer_codes).only(
        "code", "name")} if issuer_codes else {})
    described = []
    for m in materials:
        described.append({
            "id": str(m.id), "type": m.type, "type_name": pick(types.get(m.type)) or m.type,
            "kind": m.kind, "status": m.effective_status, "content_type": m.content_type,
            "size": m.size, "sha256": m.sha256, "filename": m.filename, "subject": m.subject,
            "issuer": m.issuer,
            "issuer_name": pick(issuers.get(m.issuer)) if m.issuer else None,
            "number": mask_number(licence_number(m)), "valid_until": m.valid_until,
            "application": m.application, "task": m.task, "review_reason": m.review_reason,
            "reviewed_at": m.reviewed_at, "has_content": m.file_id is not None,
            "created_at": m.created_at, "updated_at": m.updated_at,
        })
    return described


def check_review(*, material_id: str, officer, decision: str, reason: str | None, task_id: str
                 ) -> tuple[Access, str | None]:
    """An officer whose task needs a material may mark it verified or rejected (with a reason);
    returns the officer's access to it and the reason, nothing written yet."""
    if decision not in (MaterialStatus.VERIFIED, MaterialStatus.REJECTED):
        raise ValidationFailed(errors={"decision": [text("Must be verified or rejected.",
                                                         "只能是 verified 或 rejected。")]})
    reason = (reason or "").strip() or None
    if decision == MaterialStatus.REJECTED and not reason:
        raise ValidationFailed(errors={"reason": [text("Say why the material is rejected.",
                                                       "请说明退回原因。")]})
    access = material_access.for_reader(material_id=material_id, principal=officer,
                                        task_id=task_id, action=MaterialAction.REVIEW)
    material = access.material
    if material.is_elicence:
        raise InvalidState("An e-licence is issued by its department and is not reviewed.",
                           "电子证照由签发部门出具，无需核验。", error="material_not_reviewable")
    if material.effective_status == MaterialStatus.EXPIRED:
        raise InvalidState("The material has expired.", "该材料已过期。",
                           error="material_not_reviewable")
    return access, reason


def record_review(*, access: Access, officer, decision: str, reason: str | None) -> Material:
    """The officer's verdict on a material, kept on it."""
    now = utcnow()
    # update_one, not modify(): the embedded server scans for findAndModify.
    review = dict(status=str(decision), review_reason=reason, reviewed_by=str(officer.id),
                  reviewed_at=now, review_task=access.task, updated_at=now)
    if not Material.objects(id=access.material.id, kind=MaterialKind.UPLOAD.value).update_one(
            **{f"set__{k}": v for k, v in review.items()}):
        raise material_access.not_found()
    updated = access.material
    indexed_writes.set_as_stored(updated, review)
    log.info("material %s %s by an officer of %s for task %s", access.material.id, decision,
             officer.department, access.task)
    return updated


def delete_upload(*, material_id: str, owner_id: str) -> None:
    """A citizen removes an upload no application was given; its bytes go when no other
    material of theirs shares them. E-licences stay: the department issued them."""

    material = material_access.get_material(material_id)
    if material.owner != str(owner_id):
        raise material_access.not_found()
    if material.is_elicence:
        raise InvalidState("An issued e-licence cannot be removed.", "电子证照不能删除。",
                           error="material_in_use")
    if Application.objects(materials=str(material.id)).only("id").first() is not None:
        raise InvalidState("An application uses this material; it cannot be removed.",
                           "该材料已用于申请，不能删除。", error="material_in_use")
    Material.objects(id=material.id).delete()
    if material.file_id is not None and not Material.objects(file_id=material.file_id).count():
        uploads.delete_file(material.file_id)


def accesses_for_owner(*, material_id: str, owner_id: str) -> list[dict]:
    """Which departments read one of the owner's materials, when and for which matter; officers
    are not named."""
    material = material_access.get_material(material_id)
    if material.owner != str(owner_id):
        raise material_access.not_found()
    reads = material_access.accesses_of(material)
    names = {d.code: d.name for d in Department.objects(
        code__in=list({r.department for r in reads if r.department})).only("code", "name")}
    return [{"at": r.at, "department": r.department,
             "department_name": pick(names.get(r.department)) or r.department,
             "matter": r.matter, "application": r.application, "action": r.action}
            for r in reads]
