"""Staff accounts: officers, clerks, agents and admins, created, changed, signed out."""
import logging
import re
from datetime import UTC, datetime

from bson import ObjectId

from common import crypto, divisions, i18n
from models import indexed_writes
from models.base import DUPLICATE
from models.catalogue import Department
from models.refresh_token import RefreshToken
from models.user import ADAPTER_USERNAME_PREFIX, STAFF_ROLES, Role, User
from services.errors import (
    InvalidState,
    NotFound,
    ValidationFailed,
)
from services.identity import revocation

log = logging.getLogger(__name__)


USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
STATION = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
REGION = re.compile(r"^\d{6}$")
MIN_PASSWORD_LENGTH = 10


def field_error(field: str, en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, errors={field: [i18n.text(en, zh)]})


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise field_error("password", f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
                           f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。")


def _check_staff_fields(role: str, department: str | None, region: str | None,
                        station: str | None, check_department: bool,
                        require_region: bool = True) -> None:
    """What each post needs. Whether a region code is one of the province's divisions is checked
    where the code comes in (the API's and the CLI's region fields); here, its shape."""
    if region and not REGION.match(region):
        raise field_error("region", "A region is a 6-digit division code.",
                           "地区应为 6 位行政区划代码。")
    if role == Role.OFFICER:
        if not department:
            raise field_error("department", "An officer needs a department.",
                               "部门工作人员需要所属部门。")
        found = (Department.objects(code=department).only("regions").first()
                 if check_department else None)
        if check_department and found is None:
            raise field_error("department", "No such department.", "部门不存在。")
        if not region and require_region:
            raise field_error("region", "An officer needs the region they work in.",
                               "部门工作人员需要所在地区（行政区划代码）。")
        if found is not None and region and region not in (found.regions or []):
            raise field_error("region", "This region has no such department.",
                               "该地区没有此部门。")
    if role == Role.AGENT and not (region and REGION.match(region)):
        raise field_error("region", "An agent of the service desk needs a region (6 digits).",
                           "服务台人员需要所属地区（6 位行政区划代码）。")
    if role == Role.CLERK and not (station and STATION.match(station)):
        raise field_error("station", "A clerk needs a station code.",
                           "窗口人员需要所属服务站代码。")


def _outside(admin_region: str | None, region: str | None) -> bool:
    """An admin scoped to a region manages only staff of that region (or within it)."""
    return bool(admin_region) and not divisions.within(region, admin_region)


def _scoped_region(admin_region: str | None, region: str | None) -> str | None:
    """The region a scoped admin's new or changed account gets: theirs unless one within it."""
    region = region or admin_region
    if _outside(admin_region, region):
        raise field_error("region", "You manage staff of your own region only.",
                           "您只能管理本地区的工作人员。")
    return region


def create_staff(*, username: str, password: str, role: str, name: str | None = None,
                 department: str | None = None, region: str | None = None,
                 station: str | None = None, locale: str = "zh-CN", created_by: str = "cli",
                 check_department: bool = True, admin_region: str | None = None,
                 password_hash: str | None = None) -> User:
    """An officer (department and region), a station clerk (station, and the station's region),
    an agent of the service desk (region) or an admin (a region scopes them to it; none: the
    whole province). An admin scoped to a region (`admin_region`) creates accounts of that
    region only.

    `password_hash`, when given, is `crypto.hash_secret(password)` made once for many accounts
    of one password (the development seed's), which would otherwise each pay for it again.
    """
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise field_error("username", "A username is 2-64 lowercase letters, digits, . _ or -.",
                           "用户名为 2-64 位小写字母、数字或 . _ -。")
    if role not in STAFF_ROLES:
        raise field_error("role", "A staff role is officer, clerk, agent or admin.",
                           "工作人员角色应为 officer、clerk、agent 或 admin。")
    check_password(password)
    region = _scoped_region(admin_region, region)
    _check_staff_fields(role, department, region, station, check_department)
    user = User(role=role, username=username, name=name or username, locale=locale,
                password_hash=password_hash or crypto.hash_secret(password),
                created_by=created_by,
                department=department if role == Role.OFFICER else None,
                region=region or None,
                station=station if role == Role.CLERK else None)
    try:
        user.save()
    except DUPLICATE:
        raise InvalidState("This username is taken.", "该用户名已被使用。",
                           error="username_taken") from None
    log.info("staff account %s created (%s) by %s", user.id, role, created_by)
    return user


def _codes_within(area: str) -> dict:
    """The region codes inside an area, as a range of strings (portable, uses an index)."""
    prefix = divisions.prefix(area)
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def staff_of(*, role: str | None = None, department: str | None = None,
             region: str | None = None, admin_region: str | None = None):
    """Staff accounts by username, as a query a caller can page; an admin scoped to a region
    sees that region's only."""
    query = User.objects(role__in=[r.value for r in STAFF_ROLES])
    if role:
        query = query.filter(role=role)
    if department:
        query = query.filter(department=department)
    if region:
        query = query.filter(region=region)
    if admin_region:
        query = query.filter(__raw__={"region": _codes_within(admin_region)})
    return query.order_by("username")


def get_staff(user_id: str, *, admin_region: str | None = None) -> User:
    """One staff account; one outside a scoped admin's region is not found."""
    user = User.objects(id=user_id).first() if ObjectId.is_valid(user_id) else None
    if user is None or user.role not in STAFF_ROLES or _outside(admin_region, user.region):
        raise NotFound()
    return user


def update_staff(*, user_id: str, actor_id: str, admin_region: str | None = None,
                 **changes) -> User:
    """Change a staff account: name, locale, department/region/station, password, active; a new
    password or unlocking clears the lockout. An admin cannot disable themself; an admin scoped
    to a region changes that region's accounts only, and keeps them in it."""
    user = get_staff(user_id, admin_region=admin_region)
    changes = {k: v for k, v in changes.items() if v is not None}
    if "region" in changes:
        changes["region"] = _scoped_region(admin_region, changes["region"])
    if changes.get("active") is False and str(user.id) == str(actor_id):
        raise InvalidState("You cannot disable your own account.", "不能停用自己的账户。",
                           error="cannot_disable_self")
    department = changes.get("department", user.department)
    _check_staff_fields(user.role, department, changes.get("region", user.region),
                        changes.get("station", user.station),
                        check_department="department" in changes or "region" in changes,
                        require_region=False)  # an account from before regions may stay so
    if "password" in changes:
        check_password(changes["password"])
        changes["password_hash"] = crypto.hash_secret(changes.pop("password"))
        changes.update(failed_logins=0, locked_until=None)
    if changes.pop("unlock", False):
        changes.update(failed_logins=0, locked_until=None)
    if changes:
        indexed_writes.set_fields(user, updated_at=datetime.now(UTC), **changes)
    if changes.get("active") is False or "password_hash" in changes:
        revoke_user_sessions(str(user.id))
    return user


def revoke_user_sessions(user_id: str) -> int:
    """Sign a user out everywhere: every refresh token they hold stops working, and every
    access token already issued is refused from the next request."""
    result = RefreshToken._get_collection().update_many(
        {"user": str(user_id), "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}})
    revocation.revoke_subject(str(user_id))
    return result.modified_count


def region_agents(region: str) -> list[str]:
    """Ids of the active agents of the service desk of a region."""
    return [str(pk) for pk in User.objects(role=Role.AGENT.value, region=region,
                                           active=True).scalar("id")]


def department_officers(department: str, region: str | None) -> list[str]:
    """Ids of the active officers of a department in one region: its people, not the accounts
    its adapters act as."""
    return [str(pk) for pk, username in User.objects(
        role=Role.OFFICER.value, department=department, region=region, active=True,
    ).scalar("id", "username") if not (username or "").startswith(ADAPTER_USERNAME_PREFIX)]
