"""Consent between families: an entry naming another verified citizen, or a child other citizens
already hold, counts only once that citizen (or the child's guardians) confirm it, or once the
link is proven (they list the applicant back; the guardian lists the applicant as spouse)."""
from dataclasses import dataclass, field

from bson import ObjectId

from common import crypto
from models.family import (
    GUARDIAN_OF,
    RECIPROCAL,
    USABLE,
    Awaiting,
    FamilyMember,
    MemberStatus,
    is_usable,
)
from models.user import Role, User
from services.errors import Forbidden, InvalidState, NotFound

GUARDIAN_RELATIONS = [r.value for r in GUARDIAN_OF]
CONFIRMED, PENDING, DECLINED = (MemberStatus.CONFIRMED.value, MemberStatus.PENDING.value,
                                MemberStatus.DECLINED.value)


@dataclass
class Admission:
    """How a new entry enters a family, and what its insert implies for others' entries."""
    status: str
    via: str | None = None
    awaiting: str | None = None
    linked_owners: list[str] = field(default_factory=list)
    linked_citizen: bool = False
    confirm_back: FamilyMember | None = None  # their pending entry naming the applicant

    def fields(self) -> dict:
        return {"status": self.status, "via": self.via, "awaiting": self.awaiting,
                "linked_owners": self.linked_owners, "linked_citizen": self.linked_citizen}


def _guardian_holders(index: str, owner_id: str) -> list[FamilyMember]:
    """Other citizens' entries that count holding this number as their child or grandchild."""
    return list(FamilyMember.objects(__raw__={
        "id_number_index": index, "owner": {"$ne": owner_id},
        "relation": {"$in": GUARDIAN_RELATIONS}, "status": USABLE}))


def _verified_citizen(index: str, owner_id: str) -> User | None:
    return User.objects(id_number_index=index, role=Role.CITIZEN.value, real_name_verified=True,
                        id__ne=owner_id).only("id").first()


def _real_name_required() -> Forbidden:
    return Forbidden("Verify your real name before adding someone another citizen must confirm.",
                     "添加需要对方确认的家庭成员前，请先完成实名认证。",
                     error="real_name_required")


def admission(*, owner: User, relation: str, index: str,
              verified: dict[str, str | None] | None = None) -> Admission:
    """The rule for a new entry of `owner` with the ID number whose blind index is `index`.
    `verified` maps the blind indexes the request already looked up to the verified citizen
    other than the owner holding each (None: nobody): such a number is not looked up again."""
    owner_id = str(owner.id)
    holders = _guardian_holders(index, owner_id) if relation in GUARDIAN_RELATIONS else []
    if verified is not None and index in verified:  # looked up by the request's read
        citizen_id = verified[index]
    else:
        citizen = _verified_citizen(index, owner_id)
        citizen_id = str(citizen.id) if citizen is not None else None
    if not holders and citizen_id is None:
        return Admission(CONFIRMED, via="unclaimed")  # nobody else to ask
    if not (owner.real_name_verified and owner.id_number_index):
        raise _real_name_required()  # who asks must be known to whom they ask
    if holders:
        # A guardian who lists the applicant as spouse vouches for them, while that guardian is
        # the child's only one so far: a third guardian always needs the guardians' yes.
        vouching = {m.owner for m in FamilyMember.objects(__raw__={
            "id_number_index": owner.id_number_index, "owner": {"$in": [h.owner for h in holders]},
            "relation": "spouse", "status": {"$ne": DECLINED}}).only("owner")}
        for holder in holders:
            group = set(holder.linked_owners or []) - {owner_id}
            if holder.owner in vouching and not group:
                return Admission(CONFIRMED, via="spouse", linked_owners=[holder.owner])
        return Admission(PENDING, awaiting=Awaiting.GUARDIANS.value)
    back = FamilyMember.objects(owner=citizen_id, id_number_index=owner.id_number_index
                                ).first()
    if (back is not None and back.status != DECLINED
            and RECIPROCAL.get(back.relation) == relation):
        return Admission(CONFIRMED, via="reciprocal",
                         linked_citizen=relation in GUARDIAN_RELATIONS,
                         confirm_back=back if back.status == PENDING else None)
    return Admission(PENDING, awaiting=Awaiting.CITIZEN.value)


def admitted(member: FamilyMember, admission_: Admission) -> None:
    """After the entry is stored: the guardians it links with share it, and the pending entry
    that listed the applicant back counts now. Each write is idempotent (a retry redoes it)."""
    if admission_.linked_owners:
        _link_group(member, admission_.linked_owners)
    back = admission_.confirm_back
    if back is not None:
        FamilyMember._get_collection().update_one(
            {"_id": back.pk, "status": PENDING},
            {"$set": {"status": CONFIRMED, "via": "reciprocal", "decided_by": member.owner,
                      "linked_citizen": back.relation in GUARDIAN_RELATIONS}})


def _link_group(member: FamilyMember, owners: list[str]) -> None:
    """The entries of `owners` with the member's number share the member's owner too."""
    FamilyMember._get_collection().update_many(
        {"id_number_index": member.id_number_index, "owner": {"$in": list(owners)}},
        {"$addToSet": {"linked_owners": member.owner}})


def unlinked(member: FamilyMember) -> None:
    """A removed entry's owner no longer shares the others' entries of that child."""
    if member.id_number_index and member.linked_owners:
        FamilyMember._get_collection().update_many(
            {"id_number_index": member.id_number_index, "owner": {"$in": member.linked_owners}},
            {"$pull": {"linked_owners": member.owner}})


def demote_unconfirmed(citizen: User) -> None:
    """A citizen who verifies their ID number confirms, from now on, the adults' entries others
    made with it while it was nobody's (a child's entries are guarded by their links)."""
    FamilyMember._get_collection().update_many(
        {"id_number_index": citizen.id_number_index, "owner": {"$ne": str(citizen.id)},
         "relation": {"$nin": GUARDIAN_RELATIONS}, "status": USABLE,
         "via": {"$in": [None, "unclaimed"]}},
        {"$set": {"status": PENDING, "awaiting": Awaiting.CITIZEN.value}})


# ── Requests: what others ask of me ───────────────────────────────────────────────────────────

def _my_guardian_entries(user_id: str, index: str | None = None) -> list[FamilyMember]:
    query = {"owner": user_id, "relation": {"$in": GUARDIAN_RELATIONS}, "status": USABLE,
             "id_number_index": index if index else {"$type": "string"}}
    return list(FamilyMember.objects(__raw__=query))


def requests_for(user: User) -> list[dict]:
    """Entries waiting for this citizen: naming them, or a child of theirs; oldest first."""
    user_id = str(user.id)
    waiting: list[FamilyMember] = []
    if user.real_name_verified and user.id_number_index:
        waiting += FamilyMember.objects(id_number_index=user.id_number_index, status=PENDING,
                                        awaiting=Awaiting.CITIZEN.value)
    mine = {m.id_number_index: m for m in _my_guardian_entries(user_id)}
    if mine:
        waiting += FamilyMember.objects(__raw__={
            "id_number_index": {"$in": list(mine)}, "owner": {"$ne": user_id},
            "status": PENDING, "awaiting": Awaiting.GUARDIANS.value})
    owners = {str(u.id): u for u in User.objects(id__in=list({m.owner for m in waiting}))}
    waiting.sort(key=lambda m: (m.created_at, str(m.id)))
    return [{"id": str(m.id), "relation": m.relation, "awaiting": m.awaiting,
             "requester": owners.get(m.owner), "member": mine.get(m.id_number_index),
             "created_at": m.created_at} for m in waiting]


def _request(user: User, request_id: str) -> tuple[FamilyMember, FamilyMember | None]:
    """The entry this citizen may decide on and, for a child, their own entry of that child;
    anything else is not found."""
    entry = (FamilyMember.objects(id=request_id).first()
             if ObjectId.is_valid(str(request_id)) else None)
    mine = None
    allowed = False
    if entry is not None and entry.owner != str(user.id) and entry.id_number_index:
        if entry.awaiting == Awaiting.CITIZEN:
            allowed = bool(user.real_name_verified) and entry.id_number_index == \
                user.id_number_index
        elif entry.awaiting == Awaiting.GUARDIANS:
            mine = next(iter(_my_guardian_entries(str(user.id), entry.id_number_index)), None)
            allowed = mine is not None
    if not allowed:
        raise NotFound("No such request.", "未找到该请求。", error="family_request_not_found")
    return entry, mine


def _decided_already(entry: FamilyMember) -> InvalidState:
    return InvalidState("This request has been answered already.", "该请求已处理。",
                        error="family_request_decided")


def confirm(*, user: User, request_id: str) -> FamilyMember:
    """The citizen named (or a guardian of the child) says yes: the entry counts, and a child's
    entry shares the applications of the guardians' entries, both ways."""
    entry, mine = _request(user, request_id)
    group = sorted({str(user.id), *(mine.linked_owners or [])} - {entry.owner}) if mine else []
    change = {"status": CONFIRMED, "decided_by": str(user.id),
              "via": "guardian" if mine else "citizen"}
    if not mine:
        change["linked_citizen"] = entry.relation in GUARDIAN_RELATIONS
    update: dict = {"$set": change}
    if group:
        update["$addToSet"] = {"linked_owners": {"$each": group}}
    written = FamilyMember._get_collection().update_one({"_id": entry.pk, "status": PENDING},
                                                        update)
    if not written.matched_count:
        # Answered before: by this very request (a retry whose first attempt was stored), or
        # not. The same yes again answers as the first did.
        entry.reload()
        if entry.status != CONFIRMED or entry.decided_by != str(user.id):
            raise _decided_already(entry)
    if group:
        _link_group(entry, group)  # again on a retry: $addToSet changes nothing twice
    entry.reload()
    return entry


def decline(*, user: User, request_id: str) -> None:
    """The citizen named (or a guardian) says no: the entry stays declined, granting nothing,
    until its owner removes it."""
    entry, _ = _request(user, request_id)
    written = FamilyMember._get_collection().update_one(
        {"_id": entry.pk, "status": PENDING},
        {"$set": {"status": DECLINED, "decided_by": str(user.id)}})
    if not written.matched_count:
        entry.reload()
        if entry.status != DECLINED or entry.decided_by != str(user.id):
            raise _decided_already(entry)


def linked_subject_ids(children: list[FamilyMember]) -> set[str]:
    """Ids of the other entries and the accounts of these children that the links share."""
    pairs = {(c.id_number_index, owner) for c in children if c.id_number_index
             for owner in c.linked_owners or []}
    ids: set[str] = set()
    if pairs:
        found = FamilyMember.objects(__raw__={
            "id_number_index": {"$in": sorted({i for i, _ in pairs})},
            "owner": {"$in": sorted({o for _, o in pairs})}}).only(
            "id", "owner", "id_number_index", "status")
        ids.update(str(m.id) for m in found
                   if (m.id_number_index, m.owner) in pairs and is_usable(m))
    own = [c.id_number_index for c in children if c.linked_citizen and c.id_number_index]
    if own:
        ids.update(str(u.id) for u in User.objects(id_number_index__in=own).only("id"))
    return ids


def masked_id_number(user: User | None) -> str | None:
    if user is None or not user.id_number_encrypted:
        return None
    return crypto.mask_id_number(crypto.decrypt(user.id_number_encrypted))
