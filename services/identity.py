"""Who is who: citizens, real names, family members, staff and partner accounts."""
import contextlib
import logging
import re
import secrets
import time
from datetime import UTC, date, datetime

import mongoengine as me
import pymongo
from bson import ObjectId
from pymongo import ReturnDocument

from common.i18n import current_locale
from models.catalogue import Department
from models.family import GUARDIAN_OF, FamilyMember, Relation
from models.partner import Partner, Scope
from models.refresh_token import RefreshToken
from models.user import ADAPTER_USERNAME_PREFIX, STAFF_ROLES, Gender, Role, User
from services import crypto
from services.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)

log = logging.getLogger(__name__)

# mongoengine's save() and modify() wrap the driver's duplicate-key error in their own.
DUPLICATE = (pymongo.errors.DuplicateKeyError, me.NotUniqueError)
ADULT_AGE = 18

# ── Resident ID numbers (GB 11643-1999) ────────────────────────────────────────────────────────

# Province-level codes of GB/T 2260 (71 Taiwan; 81, 82, 83: residence permits of Hong Kong, Macao
# and Taiwan residents).
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
ID_NUMBER_SHAPE = re.compile(r"^\d{17}[\dX]$")
EARLIEST_BIRTH = date(1900, 1, 1)


def _id_error(en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, error="invalid_id_number", errors={"id_number": [en]})


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number: ISO 7064 MOD 11-2 over the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def validate_id_number(number: str) -> date:
    """A resident ID number is 18 characters, a known province, a real past birth date and a
    correct check character; returns the birth date, raises ValidationFailed (422) otherwise."""
    number = crypto.normalize("id_number", number or "")
    if not ID_NUMBER_SHAPE.match(number):
        raise _id_error("An ID number has 17 digits and a final digit or X.",
                        "身份证号码应为 17 位数字加 1 位数字或 X。")
    if number[:2] not in PROVINCE_CODES:
        raise _id_error("The ID number's region code is not known.", "身份证号码的地区码无效。")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _id_error("The ID number's birth date does not exist.",
                        "身份证号码中的出生日期无效。") from None
    if born > datetime.now(UTC).date() or born < EARLIEST_BIRTH:
        raise _id_error("The ID number's birth date is not possible.",
                        "身份证号码中的出生日期不合理。")
    if id_check_character(number[:17]) != number[17]:
        raise _id_error("The ID number's check digit is wrong; please check it.",
                        "身份证号码校验位不正确，请核对。")
    return born


def id_number_gender(number: str) -> str:
    """The 17th digit is odd for men, even for women."""
    return Gender.MALE.value if int(number[16]) % 2 else Gender.FEMALE.value


def make_id_number(region_code: str, birth_date: date, sequence: int, gender: str) -> str:
    """A valid ID number: region (6 digits), birth date, order code from `sequence` (0-499) with
    the parity of `gender` ("male"/"female"), then the check character."""
    if not re.fullmatch(r"\d{6}", region_code) or region_code[:2] not in PROVINCE_CODES:
        raise ValueError(f"not a known region code: {region_code!r}")
    if not 0 <= sequence <= 499:
        raise ValueError("sequence must be between 0 and 499")
    male = str(gender).lower() in {"male", "m", Gender.MALE.value}
    order = sequence * 2 + (1 if male else 0)
    first17 = f"{region_code}{birth_date:%Y%m%d}{order:03d}"
    return first17 + id_check_character(first17)


# ── Phones ────────────────────────────────────────────────────────────────────────────────────

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(phone: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 removed), else 422."""
    digits = crypto.normalize("phone", phone or "")
    if not MOBILE.match(digits):
        raise ValidationFailed("Enter an 11-digit mainland mobile number.",
                               "请输入 11 位中国大陆手机号码。", error="invalid_phone",
                               errors={"phone": ["Enter an 11-digit mainland mobile number."]})
    return digits


def phone_of(user: User) -> str | None:
    return crypto.decrypt(user.phone_encrypted) if user.phone_encrypted else None


def id_number_of(holder: User | FamilyMember) -> str | None:
    return crypto.decrypt(holder.id_number_encrypted) if holder.id_number_encrypted else None


# ── Citizens ──────────────────────────────────────────────────────────────────────────────────


def _account_disabled() -> Forbidden:
    return Forbidden("This account is disabled.", "该账户已停用。", error="account_disabled")


def find_or_create_citizen(*, phone: str) -> User:
    """The citizen with this phone; the first sign-in creates the account (one atomic upsert)."""
    phone = normalize_phone(phone)
    now = datetime.now(UTC)
    fresh = {"role": Role.CITIZEN.value, "locale": current_locale.get(), "active": True,
             "phone_encrypted": crypto.encrypt(phone), "real_name_verified": False,
             "failed_logins": 0, "created_at": now}
    collection = User._get_collection()
    query = {"phone_index": crypto.blind_index("phone", phone)}
    update = {"$setOnInsert": {**fresh, "updated_at": now}}
    raw = None
    for attempt in range(5):
        # Two first sign-ins at once: the other insert wins, this one collides.
        with contextlib.suppress(pymongo.errors.DuplicateKeyError):
            raw = collection.find_one_and_update(query, update, upsert=True,
                                                 return_document=ReturnDocument.AFTER)
        # The embedded server (0.7.0b3) may also answer a losing concurrent upsert with no
        # document at all: read what the winner wrote.
        raw = raw or collection.find_one(query)
        if raw is not None:
            break
        time.sleep(0.01 * (attempt + 1))
    if raw is None:
        raise ServiceUnavailable("Please try again.", "请重试。", error="busy")
    user = User._from_son(raw)
    if user.role != Role.CITIZEN or not user.active:
        raise _account_disabled()
    return user


def get_user(user_id: str, *, role: Role | None = None) -> User:
    """An active user by id, else 404."""
    user = User.objects(id=user_id, active=True).first() if ObjectId.is_valid(user_id) else None
    if user is None or (role is not None and user.role != role):
        raise NotFound()
    return user


def update_profile(*, user_id: str, name: str | None = None, locale: str | None = None) -> User:
    """A citizen changes their display name or language; a verified real name stays as verified."""
    user = get_user(user_id)
    changes = {}
    if name is not None:
        if user.real_name_verified and name != user.name:
            raise InvalidState("Your name is verified with your ID number and cannot be changed.",
                               "姓名已通过实名认证，无法修改。", error="name_verified")
        changes["name"] = name
    if locale is not None:
        changes["locale"] = locale
    if changes:
        user.modify(updated_at=datetime.now(UTC), **changes)
    return user


def verify_real_name(*, user_id: str, name: str, id_number: str) -> User:
    """Record a citizen's real name and resident ID number; one ID number belongs to one account."""
    user = get_user(user_id, role=Role.CITIZEN)
    born = validate_id_number(id_number)
    number = crypto.normalize("id_number", id_number)
    index = crypto.blind_index("id_number", number)
    if user.real_name_verified:
        if user.id_number_index == index and user.name == name:
            return user  # the same answer twice is not an error
        raise InvalidState("Your real name is already verified.", "您已完成实名认证。",
                           error="already_verified")
    now = datetime.now(UTC)
    try:
        updated = User.objects(id=user.id, real_name_verified__ne=True).modify(
            set__name=name, set__id_number_encrypted=crypto.encrypt(number),
            set__id_number_index=index, set__birth_date=born,
            set__gender=id_number_gender(number), set__real_name_verified=True,
            set__real_name_verified_at=now, set__updated_at=now, new=True)
    except DUPLICATE:
        raise InvalidState("This ID number is already verified on another account.",
                           "该身份证号码已在其他账户完成实名认证。",
                           error="id_number_taken") from None
    if updated is None:
        raise InvalidState("Your real name is already verified.", "您已完成实名认证。",
                           error="already_verified")
    log.info("real name verified for user %s", user.id)
    return updated


# ── Family ────────────────────────────────────────────────────────────────────────────────────


def is_minor(birth_date: date | None, *, today: date | None = None) -> bool:
    if birth_date is None:
        return False
    today = today or datetime.now(UTC).date()
    age = today.year - birth_date.year - ((today.month, today.day) <
                                          (birth_date.month, birth_date.day))
    return age < ADULT_AGE


def family_of(user_id: str) -> list[FamilyMember]:
    """A citizen's family members, oldest entry first."""
    return list(FamilyMember.objects(owner=str(user_id)).order_by("created_at"))


def get_family_member(*, owner_id: str, member_id: str) -> FamilyMember:
    member = (FamilyMember.objects(id=member_id, owner=str(owner_id)).first()
              if ObjectId.is_valid(member_id) else None)
    if member is None:
        raise NotFound("No such family member.", "未找到该家庭成员。")
    return member


def add_family_member(*, owner_id: str, relation: str, name: str,
                      birth_date: date | None = None, id_number: str | None = None,
                      gender: str | None = None) -> FamilyMember:
    """Add a spouse, child, parent, ...: an ID number gives the birth date and gender; a child
    needs a birth date (a newborn has no ID number yet); one spouse; nobody twice."""
    owner = get_user(owner_id, role=Role.CITIZEN)
    fields: dict = {"owner": str(owner.id), "relation": relation, "name": name, "gender": gender}
    if id_number:
        born = validate_id_number(id_number)
        if birth_date is not None and birth_date != born:
            raise ValidationFailed(
                "The birth date does not match the ID number.", "出生日期与身份证号码不一致。",
                errors={"birth_date": ["The birth date does not match the ID number."]})
        number = crypto.normalize("id_number", id_number)
        index = crypto.blind_index("id_number", number)
        if index == owner.id_number_index:
            raise ValidationFailed("That is your own ID number.", "这是您本人的身份证号码。",
                                   errors={"id_number": ["That is your own ID number."]})
        fields.update(id_number_encrypted=crypto.encrypt(number), id_number_index=index,
                      birth_date=born, gender=id_number_gender(number))
    else:
        fields["birth_date"] = birth_date
    if fields["birth_date"] and fields["birth_date"] > datetime.now(UTC).date():
        raise ValidationFailed("The birth date is in the future.", "出生日期不能晚于今天。",
                               errors={"birth_date": ["The birth date is in the future."]})
    if relation in GUARDIAN_OF and fields["birth_date"] is None:
        raise ValidationFailed("A child's birth date or ID number is needed.",
                               "请填写子女的出生日期或身份证号码。",
                               errors={"birth_date": ["A child's birth date is needed."]})
    if relation == Relation.SPOUSE and FamilyMember.objects(owner=str(owner.id),
                                                            relation=Relation.SPOUSE).first():
        raise InvalidState("You have already added a spouse.", "您已添加配偶。",
                           error="spouse_exists")
    try:
        return FamilyMember(**fields).save()
    except DUPLICATE:
        raise InvalidState("This person is already in your family.", "该成员已在您的家庭成员中。",
                           error="family_member_exists") from None


def add_newborn_once(*, owner: User, member_id: ObjectId, name: str, birth_date: date,
                     gender: str | None = None) -> FamilyMember:
    """Add a newborn child under an id its caller derived from its request, in one upsert: the
    request's retries and concurrent twins find the entry the first one made (as stored)."""
    if birth_date > datetime.now(UTC).date():
        raise ValidationFailed("The birth date is in the future.", "出生日期不能晚于今天。",
                               errors={"birth_date": ["The birth date is in the future."]})
    now = datetime.now(UTC)
    child = FamilyMember(id=member_id, owner=str(owner.id), relation=Relation.CHILD.value,
                         name=name, birth_date=birth_date, gender=gender, created_at=now,
                         updated_at=now)
    child.validate()  # as save() would (a name too long, an unknown gender)
    fields = child.to_mongo().to_dict()
    fields.pop("_id", None)
    insert = {k: v for k, v in fields.items() if v is not None}
    for _ in range(3):
        try:
            stored = FamilyMember._get_collection().find_one_and_update(
                {"_id": member_id, "owner": str(owner.id)}, {"$setOnInsert": insert},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DUPLICATE:
            stored = None
        # None or a duplicate: a twin's upsert inserted it first (the embedded server answers
        # None for the loser); asked again, the entry is there.
        if stored is not None:
            return FamilyMember._from_son(stored)
    raise ServiceUnavailable("The family entry could not be written; try again.",
                             "家庭成员信息写入失败，请重试。")


def set_family_member_id_number(*, owner_id: str, member_id: str, id_number: str) -> FamilyMember:
    """Record the ID number issued to a family member who had none (a newborn), idempotently, in
    one conditional write."""
    born = validate_id_number(id_number)
    number = crypto.normalize("id_number", id_number)
    index = crypto.blind_index("id_number", number)
    if not ObjectId.is_valid(str(member_id)):
        raise NotFound("No such family member.", "未找到该家庭成员。")
    already = {"$eq": ["$id_number_index", {"$literal": index}]}
    try:
        stored = FamilyMember._get_collection().find_one_and_update(
            {"_id": ObjectId(str(member_id)), "owner": str(owner_id),
             "id_number_index": {"$in": [None, index]}},
            # A pipeline: a birth date already known stays; recording it again changes nothing.
            [{"$set": {
                "id_number_encrypted": {"$cond": [already, "$id_number_encrypted",
                                                  {"$literal": crypto.encrypt(number)}]},
                "id_number_index": {"$literal": index},
                "birth_date": {"$ifNull": ["$birth_date",
                                           datetime(born.year, born.month, born.day)]},
                "gender": {"$cond": [already, "$gender",
                                     {"$literal": id_number_gender(number)}]},
                "updated_at": {"$cond": [already, "$updated_at", datetime.now(UTC)]}}}],
            return_document=ReturnDocument.AFTER)
    except DUPLICATE:
        raise InvalidState("This person is already in your family.", "该成员已在您的家庭成员中。",
                           error="family_member_exists") from None
    if stored is None:  # not theirs, or it already holds another number: say which
        get_family_member(owner_id=str(owner_id), member_id=str(member_id))
        raise InvalidState("This family member already has an ID number.",
                           "该家庭成员已有身份证号码。", error="id_number_set")
    return FamilyMember._from_son(stored)


def remove_family_member(*, owner_id: str, member_id: str) -> None:
    get_family_member(owner_id=owner_id, member_id=member_id).delete()


def _minor_children(user_id: str) -> list[FamilyMember]:
    return [m for m in FamilyMember.objects(owner=str(user_id),
                                            relation__in=[r.value for r in GUARDIAN_OF])
            if is_minor(m.birth_date)]


def subject_ids_for(user_id: str) -> list[str]:
    """Every subject id a citizen may act for: themself, their minor children's family entries,
    and other entries or accounts with one of those children's ID numbers (the other parent's)."""
    user_id = str(user_id)
    children = _minor_children(user_id)
    ids = {user_id, *(str(m.id) for m in children)}
    indexes = [m.id_number_index for m in children if m.id_number_index]
    if indexes:
        ids.update(str(m.id) for m in FamilyMember.objects(id_number_index__in=indexes).only("id"))
        ids.update(str(u.id) for u in User.objects(id_number_index__in=indexes).only("id"))
    return sorted(ids)


def may_act_for(*, user_id: str, subject_id: str) -> bool:
    """A citizen may act for themself and for their minor children (by any parent's entry)."""
    user_id, subject_id = str(user_id), str(subject_id)
    if subject_id == user_id:
        return True
    if not ObjectId.is_valid(subject_id):
        return False
    children = _minor_children(user_id)
    if any(str(m.id) == subject_id for m in children):
        return True
    indexes = [m.id_number_index for m in children if m.id_number_index]
    if not indexes:
        return False
    return bool(FamilyMember.objects(id=subject_id, id_number_index__in=indexes).first()
                or User.objects(id=subject_id, id_number_index__in=indexes).first())


# ── Staff ─────────────────────────────────────────────────────────────────────────────────────

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
STATION = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
REGION = re.compile(r"^\d{6}$")
MIN_PASSWORD_LENGTH = 10


def _field_error(field: str, en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, errors={field: [en]})


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise _field_error("password", f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
                           f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。")


def _check_staff_fields(role: str, department: str | None, region: str | None,
                        station: str | None, check_department: bool) -> None:
    if role == Role.OFFICER:
        if not department:
            raise _field_error("department", "An officer needs a department.",
                               "部门工作人员需要所属部门。")
        if check_department and not Department.objects(code=department).first():
            raise _field_error("department", "No such department.", "部门不存在。")
        if region and not REGION.match(region):
            raise _field_error("region", "A region is a 6-digit division code.",
                               "地区应为 6 位行政区划代码。")
    if role == Role.CLERK and not (station and STATION.match(station)):
        raise _field_error("station", "A clerk needs a station code.",
                           "窗口人员需要所属服务站代码。")


def create_staff(*, username: str, password: str, role: str, name: str | None = None,
                 department: str | None = None, region: str | None = None,
                 station: str | None = None, locale: str = "zh-CN", created_by: str = "cli",
                 check_department: bool = True) -> User:
    """An officer (department and region), a station clerk (station) or an admin."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise _field_error("username", "A username is 2-64 lowercase letters, digits, . _ or -.",
                           "用户名为 2-64 位小写字母、数字或 . _ -。")
    if role not in STAFF_ROLES:
        raise _field_error("role", "A staff role is officer, clerk or admin.",
                           "工作人员角色应为 officer、clerk 或 admin。")
    check_password(password)
    _check_staff_fields(role, department, region, station, check_department)
    user = User(role=role, username=username, name=name or username, locale=locale,
                password_hash=crypto.hash_secret(password), created_by=created_by,
                department=department if role == Role.OFFICER else None,
                region=(region or None) if role == Role.OFFICER else None,
                station=station if role == Role.CLERK else None)
    try:
        user.save()
    except DUPLICATE:
        raise InvalidState("This username is taken.", "该用户名已被使用。",
                           error="username_taken") from None
    log.info("staff account %s created (%s) by %s", user.id, role, created_by)
    return user


def list_staff(*, role: str | None = None, department: str | None = None) -> list[User]:
    query = User.objects(role__in=[r.value for r in STAFF_ROLES])
    if role:
        query = query.filter(role=role)
    if department:
        query = query.filter(department=department)
    return list(query.order_by("username"))


def get_staff(user_id: str) -> User:
    user = User.objects(id=user_id).first() if ObjectId.is_valid(user_id) else None
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound()
    return user


def update_staff(*, user_id: str, actor_id: str, **changes) -> User:
    """Change a staff account: name, locale, department/region/station, password, active; a new
    password or unlocking clears the lockout. An admin cannot disable themself."""
    user = get_staff(user_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("active") is False and str(user.id) == str(actor_id):
        raise InvalidState("You cannot disable your own account.", "不能停用自己的账户。",
                           error="cannot_disable_self")
    department = changes.get("department", user.department)
    _check_staff_fields(user.role, department, changes.get("region", user.region),
                        changes.get("station", user.station),
                        check_department="department" in changes)
    if "password" in changes:
        check_password(changes["password"])
        changes["password_hash"] = crypto.hash_secret(changes.pop("password"))
        changes.update(failed_logins=0, locked_until=None)
    if changes.pop("unlock", False):
        changes.update(failed_logins=0, locked_until=None)
    if changes:
        user.modify(updated_at=datetime.now(UTC), **changes)
    if changes.get("active") is False or "password_hash" in changes:
        revoke_user_sessions(str(user.id))
    return user


def revoke_user_sessions(user_id: str) -> int:
    """Sign a user out everywhere: every refresh token they hold stops working."""
    result = RefreshToken._get_collection().update_many(
        {"user": str(user_id), "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}})
    return result.modified_count


# ── Partners ──────────────────────────────────────────────────────────────────────────────────

CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def _check_scopes(scopes: list[str]) -> list[str]:
    known = {s.value for s in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise _field_error("scopes", f"Unknown scopes: {', '.join(unknown)}.",
                           f"未知的权限范围：{', '.join(unknown)}。")
    return sorted(set(scopes))


def register_partner(*, name: str, scopes: list[str], client_id: str | None = None,
                     webhook_url: str | None = None, events: list[str] | None = None,
                     created_by: str | None = None) -> tuple[Partner, str, str]:
    """Register a partner; returns it with its client secret and webhook secret, shown once."""
    client_id = (client_id or f"p-{secrets.token_hex(8)}").strip().lower()
    if not CLIENT_ID.match(client_id):
        raise _field_error("client_id", "A client id is 3-64 lowercase letters, digits, . _ or -.",
                           "客户端标识为 3-64 位小写字母、数字或 . _ -。")
    secret, webhook_secret = crypto.new_token(32), crypto.new_token(32)
    partner = Partner(name=name, client_id=client_id, secret_hash=crypto.hash_secret(secret),
                      scopes=_check_scopes(scopes), webhook_url=webhook_url or None,
                      webhook_secret_encrypted=crypto.encrypt(webhook_secret),
                      events=sorted(set(events or [])), created_by=created_by)
    try:
        partner.save()
    except DUPLICATE:
        raise InvalidState("This client id is taken.", "该客户端标识已被使用。",
                           error="client_id_taken") from None
    log.info("partner %s registered by %s", client_id, created_by)
    return partner, secret, webhook_secret


def get_partner(partner_id: str) -> Partner:
    partner = Partner.objects(id=partner_id).first() if ObjectId.is_valid(partner_id) else None
    if partner is None:
        raise NotFound()
    return partner


def list_partners() -> list[Partner]:
    return list(Partner.objects.order_by("client_id"))


def update_partner(*, partner_id: str, **changes) -> Partner:
    """Change a partner's name, scopes, webhook URL, events or active flag."""
    partner = get_partner(partner_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    if "scopes" in changes:
        changes["scopes"] = _check_scopes(changes["scopes"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes:
        partner.modify(updated_at=datetime.now(UTC), **changes)
    return partner


def rotate_partner_secret(*, partner_id: str) -> tuple[Partner, str]:
    """A new client secret; the old one stops working at once."""
    partner = get_partner(partner_id)
    secret = crypto.new_token(32)
    partner.modify(secret_hash=crypto.hash_secret(secret), updated_at=datetime.now(UTC))
    return partner, secret


def partner_webhook_secret(partner: Partner) -> str | None:
    """The secret that signs this partner's webhook bodies."""
    return (crypto.decrypt(partner.webhook_secret_encrypted)
            if partner.webhook_secret_encrypted else None)


def department_officers(department: str) -> list[str]:
    """Ids of the active officers of a department: its people, not the accounts its adapters
    act as."""
    return [str(pk) for pk, username in User.objects(
        role=Role.OFFICER.value, department=department, active=True,
    ).scalar("id", "username") if not (username or "").startswith(ADAPTER_USERNAME_PREFIX)]
