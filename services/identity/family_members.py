"""A citizen's family: members, newborns, minors, and whom a citizen may act for."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from common import calendar, crypto
from models.base import DUPLICATE
from models.family import (
    GUARDIAN_OF,
    USABLE,
    FamilyMember,
    MemberStatus,
    Relation,
    is_usable,
)
from models.user import Role, User
from services.errors import (
    InvalidState,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from services.identity import family_links
from services.identity.citizens import get_user
from services.identity.numbers import id_number_gender, validate_id_number

ADULT_AGE = 18


def is_minor(birth_date: date | None, *, today: date | None = None) -> bool:
    if birth_date is None:
        return False
    today = today or calendar.today()
    age = today.year - birth_date.year - ((today.month, today.day) <
                                          (birth_date.month, birth_date.day))
    return age < ADULT_AGE


def family_of(user_id: str) -> list[FamilyMember]:
    """A citizen's family members that count (not waiting for anyone's yes), oldest first."""
    return list(FamilyMember.objects(owner=str(user_id), __raw__={"status": USABLE})
                .order_by("created_at"))


def family_listing(user_id: str) -> list[FamilyMember]:
    """Every entry of a citizen's family, those waiting for a yes or declined too."""
    return list(FamilyMember.objects(owner=str(user_id)).order_by("created_at"))


@dataclass
class Known:
    """What a request's one read found beyond the family that counts, so that adding to the
    family reads nothing again: every entry the read kept (spouses always, waiting or declined
    ones too), for each ID number looked up (its blind index) the verified citizen other than
    the reader who holds it, or None, and those of them other citizens hold as their child or
    grandchild (entries that count)."""
    entries: list[FamilyMember] = field(default_factory=list)
    verified: dict[str, str | None] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)

    def has_spouse(self) -> bool:
        return any(m.relation == Relation.SPOUSE.value for m in self.entries)

    def looked_up(self, index: str) -> bool:
        """Whether the read looked up this number (and kept the reader's entries with it)."""
        return index in self.verified


def active_citizen_with_family(user_id: str) -> tuple[User | None, list[FamilyMember]]:
    """An active citizen and their family members (oldest entry first) in one round trip: the
    family is joined on its owner index. (None, []) when there is no such active citizen."""
    applicant, family, _, _ = citizen_family_and_documents(user_id)
    return applicant, family


def citizen_family_and_documents(user_id: str, *,
                                 members: Callable[[dict], bool] | None = None,
                                 documents: dict[str, tuple[str, list]] | None = None,
                                 numbers: list[str] | None = None
                                 ) -> tuple[User | None, list[FamilyMember], dict[str, list],
                                            Known]:
    """As active_citizen_with_family, in the same one round trip: only the family members whose
    stored document `members` accepts (all without it: a request that needs a few of a large
    family does not decrypt them all; chosen here rather than by the database, whose one core
    is the scarcer), for each name of `documents` the raw documents of (collection, ids) that
    exist, read by their _id index, and (Known) who holds the ID numbers whose blind indexes are
    `numbers`: verified citizens and other citizens' children, read by their id_number_index."""
    if not ObjectId.is_valid(str(user_id)):
        return None, [], {}, Known()
    numbers = sorted(set(numbers or []))
    pipeline = [
        # The _id alone first: with other fields beside it, the embedded server weighs every
        # index of users before taking the _id (1.3 ms of its CPU of the 3.3 this read cost).
        {"$match": {"_id": ObjectId(str(user_id))}},
        {"$match": {"role": Role.CITIZEN.value, "active": True}},
        {"$limit": 1},
        {"$addFields": {"_owner": {"$toString": "$_id"},
                        "_numbers": {"$literal": numbers},
                        **{f"_ids_{name}": {"$literal": list(ids)}
                           for name, (_, ids) in (documents or {}).items()}}},
        # The smallest joins first, the family last: the embedded server deep-copies the row
        # with everything joined so far at each $lookup.
        *([{"$lookup": {"from": User._get_collection_name(), "localField": "_numbers",
                        "foreignField": "id_number_index", "as": "_holders"}},
           {"$lookup": {"from": FamilyMember._get_collection_name(), "localField": "_numbers",
                        "foreignField": "id_number_index", "as": "_held"}}]
          if numbers else []),
        *({"$lookup": {"from": collection, "localField": f"_ids_{name}", "foreignField": "_id",
                       "as": f"_documents_{name}"}}
          for name, (collection, _) in (documents or {}).items()),
        {"$lookup": {"from": FamilyMember._get_collection_name(), "localField": "_owner",
                     "foreignField": "owner", "as": "_family"}},
    ]
    row = next(User._get_collection().aggregate(pipeline), None)
    if row is None:
        return None, [], {}, Known()
    for extra in ("_owner", "_numbers"):
        row.pop(extra)
    joined = {name: row.pop(f"_documents_{name}") for name in documents or {}}
    for name in documents or {}:
        row.pop(f"_ids_{name}")
    holders = {u.get("id_number_index"): str(u["_id"]) for u in row.pop("_holders", [])
               if u.get("role") == Role.CITIZEN.value and u.get("real_name_verified")
               and u["_id"] != row["_id"]}
    guardians = {r.value for r in GUARDIAN_OF}
    held = {m["id_number_index"] for m in row.pop("_held", [])
            if m.get("owner") != str(row["_id"]) and m.get("relation") in guardians
            and m.get("status") not in (MemberStatus.PENDING.value, MemberStatus.DECLINED.value)}
    entries, family = [], []
    for son in row.pop("_family"):
        wanted = members is None or members(son)
        if wanted or son.get("relation") == Relation.SPOUSE.value:
            member = FamilyMember._from_son(son)
            entries.append(member)
            if wanted and is_usable(member):
                family.append(member)
    for listed in (entries, family):
        listed.sort(key=lambda m: (m.created_at is None, m.created_at or datetime.min,
                                   str(m.id)))
    known = Known(entries=entries, verified={index: holders.get(index) for index in numbers},
                  held=held)
    return User._from_son(row), family, joined, known


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
    needs a birth date (a newborn has no ID number yet); one spouse; nobody twice. An entry
    naming another verified citizen, or a child other citizens hold, waits for their yes
    (family_links)."""
    owner = get_user(owner_id, role=Role.CITIZEN)
    entry = new_entry(owner=owner, relation=relation, name=name, birth_date=birth_date,
                      id_number=id_number, gender=gender)
    return store_entry(*entry)


def new_entry(*, owner: User, relation: str, name: str, birth_date: date | None = None,
              id_number: str | None = None, gender: str | None = None,
              known: Known | None = None) -> tuple[FamilyMember, family_links.Admission | None]:
    """The entry add_family_member would write, checked, with its id chosen and how it enters
    the family; nothing written. `known` (what the request's read found) spares the reads of
    the spouse check and of the verified citizen holding the number."""
    fields: dict = {"owner": str(owner.id), "relation": relation, "name": name, "gender": gender}
    admission = None
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
    if fields["birth_date"] and fields["birth_date"] > calendar.today():
        raise ValidationFailed("The birth date is in the future.", "出生日期不能晚于今天。",
                               errors={"birth_date": ["The birth date is in the future."]})
    if relation in GUARDIAN_OF and fields["birth_date"] is None:
        raise ValidationFailed("A child's birth date or ID number is needed.",
                               "请填写子女的出生日期或身份证号码。",
                               errors={"birth_date": ["A child's birth date is needed."]})
    if relation == Relation.SPOUSE and (
            known.has_spouse() if known is not None else
            FamilyMember.objects(owner=str(owner.id), relation=Relation.SPOUSE).first()):
        raise InvalidState("You have already added a spouse.", "您已添加配偶。",
                           error="spouse_exists")
    if id_number:
        admission = family_links.admission(owner=owner, relation=relation,
                                           index=fields["id_number_index"],
                                           verified=known.verified if known else None)
        fields.update(admission.fields())
    now = datetime.now(UTC)
    # The id is chosen here so that a retry of the write, meeting its own first attempt, is
    # told from a real second entry.
    member = FamilyMember(id=ObjectId(), created_at=now, updated_at=now, **fields)
    member.validate()  # as save() would (a name too long, an unknown gender)
    return member, admission


def _exists_already() -> InvalidState:
    return InvalidState("This person is already in your family.", "该成员已在您的家庭成员中。",
                        error="family_member_exists")


def store_entry(member: FamilyMember, admission: family_links.Admission | None) -> FamilyMember:
    """Write an entry new_entry made; a retry meeting its own first attempt finds it."""
    try:
        member.save(force_insert=True)
    except DUPLICATE:
        stored = FamilyMember.objects(id=member.id, owner=member.owner).first()
        if stored is None:
            raise _exists_already() from None
        member = stored
    if admission is not None:
        family_links.admitted(member, admission)
    return member


def _newborn_upsert(*, owner: User, member_id: ObjectId, name: str, birth_date: date,
                    gender: str | None) -> tuple[FamilyMember, dict, dict]:
    """(the child, key, fields) of the upsert that adds a newborn child under `member_id`,
    checked."""
    if birth_date > calendar.today():
        raise ValidationFailed("The birth date is in the future.", "出生日期不能晚于今天。",
                               errors={"birth_date": ["The birth date is in the future."]})
    now = datetime.now(UTC)
    child = FamilyMember(id=member_id, owner=str(owner.id), relation=Relation.CHILD.value,
                         name=name, birth_date=birth_date, gender=gender, created_at=now,
                         updated_at=now)
    child.validate()  # as save() would (a name too long, an unknown gender)
    fields = child.to_mongo().to_dict()
    fields.pop("_id", None)
    return child, {"_id": member_id, "owner": str(owner.id)}, {
        k: v for k, v in fields.items() if v is not None}


def add_newborn_once(*, owner: User, member_id: ObjectId, name: str, birth_date: date,
                     gender: str | None = None,
                     with_entry: tuple[FamilyMember, family_links.Admission | None] | None = None
                     ) -> FamilyMember:
    """Add a newborn child under an id its caller derived from its request, in one upsert: the
    request's retries and concurrent twins find the entry the first one made (as stored).

    `with_entry` (new_entry's answer) is written in the same command, as an upsert of its
    chosen id: a retry meeting its own first attempt matches it and changes nothing; another
    entry with its number already there refuses it (family_member_exists), the newborn kept."""
    child, key, insert = _newborn_upsert(owner=owner, member_id=member_id, name=name,
                                         birth_date=birth_date, gender=gender)
    collection = FamilyMember._get_collection()
    # Each upsert by its _id alone: the owner beside it made the embedded server weigh every
    # index of family members first (2.3 ms of its CPU instead of 1.5). The ids are this owner's
    # (derived from their request, or just chosen), and what is read back is by id and owner.
    writes = [UpdateOne({"_id": member_id}, {"$setOnInsert": insert}, upsert=True)]
    if with_entry is not None:
        entry = with_entry[0].to_mongo().to_dict()
        writes.append(UpdateOne({"_id": entry.pop("_id")}, {"$setOnInsert": entry},
                                upsert=True))
    for _ in range(3):
        # update, not findAndModify (a collection scan on the embedded server, see
        # models/indexed_writes.py): what it inserts is known; an entry already there is
        # read back by its id.
        try:
            upserted = collection.bulk_write(writes, ordered=False).upserted_ids
            refused: set[int] = set()
        except BulkWriteError as exc:
            upserted = {u["index"]: u["_id"] for u in exc.details.get("upserted", [])}
            refused = {e["index"] for e in exc.details.get("writeErrors", [])
                       if e.get("code") in (11000, 11001)}
            if len(refused) != len(exc.details.get("writeErrors", [])):
                raise
        if 1 in refused:  # another entry of the family has this ID number
            raise _exists_already()
        if len(writes) > 1:  # the entry is stored (now or by a first attempt)
            writes = writes[:1]
            if with_entry[1] is not None:
                family_links.admitted(with_entry[0], with_entry[1])
        if 0 in upserted:
            # What it inserted: the document built above (its name in the clear: read back,
            # it would be decrypted right after it was encrypted).
            return child
        # Refused or matched: a twin's upsert inserted the newborn first; asked again, the
        # entry is there.
        stored = None if 0 in refused else collection.find_one(key)
        if stored is not None:
            return FamilyMember._from_son(stored)
    raise ServiceUnavailable("The family entry could not be written; try again.",
                             "家庭成员信息写入失败，请重试。")


def set_family_member_id_number(*, owner_id: str, member_id: str, id_number: str) -> None:
    """Record the ID number issued to a family member who had none (a newborn), idempotently, in
    one conditional write (update_one: the embedded server scans for findAndModify)."""
    born = validate_id_number(id_number)
    number = crypto.normalize("id_number", id_number)
    index = crypto.blind_index("id_number", number)
    if not ObjectId.is_valid(str(member_id)):
        raise NotFound("No such family member.", "未找到该家庭成员。")
    already = {"$eq": ["$id_number_index", {"$literal": index}]}
    try:
        written = FamilyMember._get_collection().update_one(
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
                "updated_at": {"$cond": [already, "$updated_at", datetime.now(UTC)]}}}])
    except DUPLICATE:
        raise InvalidState("This person is already in your family.", "该成员已在您的家庭成员中。",
                           error="family_member_exists") from None
    if not written.matched_count:  # not theirs, or it already holds another number: say which
        get_family_member(owner_id=str(owner_id), member_id=str(member_id))
        raise InvalidState("This family member already has an ID number.",
                           "该家庭成员已有身份证号码。", error="id_number_set")


def remove_family_member(*, owner_id: str, member_id: str) -> None:
    member = get_family_member(owner_id=owner_id, member_id=member_id)
    member.delete()
    family_links.unlinked(member)


def _minor_children(user_id: str) -> list[FamilyMember]:
    return [m for m in FamilyMember.objects(owner=str(user_id),
                                            relation__in=[r.value for r in GUARDIAN_OF],
                                            __raw__={"status": USABLE})
            if is_minor(m.birth_date)]


def subject_ids_for(user_id: str) -> list[str]:
    """Every subject id a citizen may act for: themself, their minor children's entries that
    count, and the entries and accounts of those children that a guardian's (or the child's)
    consent links to them (the other parent's entry)."""
    user_id = str(user_id)
    children = _minor_children(user_id)
    ids = {user_id, *(str(m.id) for m in children)}
    ids.update(family_links.linked_subject_ids(children))
    return sorted(ids)


def may_act_for(*, user_id: str, subject_id: str) -> bool:
    """A citizen may act for themself and for their minor children (by any entry linked)."""
    user_id, subject_id = str(user_id), str(subject_id)
    if subject_id == user_id:
        return True
    if not ObjectId.is_valid(subject_id):
        return False
    children = _minor_children(user_id)
    if any(str(m.id) == subject_id for m in children):
        return True
    return subject_id in family_links.linked_subject_ids(children)
