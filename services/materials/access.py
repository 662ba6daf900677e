"""Who may see a material: its owner, or an officer whose task needs it; officers' reads audited."""
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from common import log_setup
from models.application import Application, TaskStatus
from models.audit import MaterialAccess, MaterialAction
from models.material import Material
from models.user import Role, User
from services.errors import Forbidden, NotFound
from services.identity.tokens import Principal

log = logging.getLogger(__name__)

LINK_SALT = "material-download-link"


@dataclass(frozen=True)
class Access:
    """A material the caller may see, and for officers the task that entitles them."""

    material: Material
    task: str | None = None
    application: str | None = None
    matter: str | None = None


def not_found() -> NotFound:
    return NotFound("Material not found.", "未找到该材料。", error="not_found")


def get_material(material_id: str) -> Material:
    try:
        oid = ObjectId(str(material_id))
    except (InvalidId, TypeError):
        raise not_found() from None
    material = Material.objects(id=oid).first()
    if material is None:
        raise not_found()
    return material


WORKING_STATUSES = [TaskStatus.PENDING.value, TaskStatus.CLAIMED.value,
                    TaskStatus.NEEDS_SUPPLEMENT.value]


def officer_task(material: Material, *, department: str | None, region: str | None,
                 task_id: str | None = None) -> Access | None:
    """The task of the officer's department in their region, on an application that includes
    this material, whose matter asks for its type; None when there is none.

    Only a task the department is working on opens the material: once it is done with,
    withdrawn or rejected (or not yet in the queue), the officer has no reason to read it.
    """
    if not department:
        return None
    region = region or None
    # Given by the citizen, or issued as an e-licence by another task of the same application
    # (which the e-licence names: no index of e-licences for every write to maintain): one
    # indexed query each, the second only when the first opens nothing (the server plans no
    # `$or` on indexes, and `$or` with `$elemMatch` read every application).
    queries = [{"materials": str(material.id)}]
    if material.application and ObjectId.is_valid(material.application):
        # `_id` alone: with another clause beside it the server's explain() calls it a scan.
        queries.append({"_id": ObjectId(material.application)})
    for query in queries:
        for application in Application.objects(__raw__=query).only("id", "materials", "tasks"):
            if (str(material.id) not in (application.materials or [])
                    and not any(str(material.id) in (t.elicences or [])
                                for t in application.tasks)):
                continue  # the application the e-licence names, but not one that holds it
            for task in application.tasks:
                if (task.department == department and (task.region or None) == region
                        and material.type in (task.material_types or [])
                        and task.status in WORKING_STATUSES
                        and (not task_id or task.id == str(task_id))):
                    return Access(material, task.id, str(application.id), task.matter)
    return None


def audit(access: Access, principal: Principal, action: MaterialAction) -> None:
    MaterialAccess(officer=str(principal.id), department=principal.department,
                   region=principal.region,
                   material=str(access.material.id), owner=access.material.owner,
                   task=access.task, application=access.application, matter=access.matter,
                   action=action.value, request_id=log_setup.request_id.get()).save()


def for_reader(*, material_id: str, principal: Principal, task_id: str | None = None,
               action: MaterialAction = MaterialAction.METADATA) -> Access:
    """The material if the caller may see it, else 404 exactly as if it did not exist.

    The owner sees their own. An officer sees it through a task of their department that needs
    it (the one named, or the first found) in their own region, and the read is written to the
    audit log. Nobody
    else, admins included, reads citizens' materials.
    """
    material = get_material(material_id)
    if principal.role == Role.CITIZEN and material.owner == str(principal.id):
        return Access(material)
    if principal.role == Role.OFFICER:
        access = officer_task(material, department=principal.department,
                              region=principal.region, task_id=task_id)
        if access is not None:
            audit(access, principal, action)
            return access
    raise not_found()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def signed_link(*, material_id: str, principal: Principal, task_id: str | None = None
                ) -> tuple[str, datetime]:
    """A short-lived token an officer's browser can fetch the bytes with, without a header."""
    if principal.role != Role.OFFICER:
        raise not_found()
    access = for_reader(material_id=material_id, principal=principal, task_id=task_id,
                        action=MaterialAction.LINK_ISSUED)
    if access.material.file_id is None:
        raise NotFound("This material has no file to download.", "该材料没有可下载的文件。",
                       error="no_content")
    expires = time.time() + current_app.config["MATERIAL_LINK_TTL"]
    token = _serializer().dumps({"m": str(access.material.id), "o": str(principal.id),
                                 "t": access.task, "e": round(expires, 3)})
    return token, datetime.fromtimestamp(expires, UTC)


def read_by_link(*, material_id: str, token: str) -> Access:
    """The material a signed link names, if the link is genuine, unexpired, and its officer may
    still see it (still active, still in the department of a task that needs it)."""
    try:
        claims = _serializer().loads(token)
    except BadSignature:
        raise not_found() from None
    if not isinstance(claims, dict) or claims.get("m") != str(material_id):
        raise not_found()
    if time.time() >= float(claims.get("e", 0)):
        raise Forbidden("This download link has expired; open the material again.",
                        "下载链接已过期，请重新打开材料。", error="link_expired")
    officer = User.objects(id=claims.get("o"), role=Role.OFFICER.value, active=True).first()
    if officer is None:
        raise not_found()
    principal = Principal(id=str(officer.id), role=officer.role, department=officer.department,
                          region=officer.region)
    return for_reader(material_id=material_id, principal=principal, task_id=claims.get("t"),
                      action=MaterialAction.LINK_USED)


def accesses_of(material: Material) -> list[MaterialAccess]:
    """Who from which department read a material, newest first (for its owner)."""
    return list(MaterialAccess.objects(material=str(material.id)).order_by("-at"))
