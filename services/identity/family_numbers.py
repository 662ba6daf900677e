"""ID numbers an applicant types into a form for a family member (a spouse, the child the
application is about): a number of their family records passes, a new one becomes a family
record, and a number some other citizen verified as their own, a child other citizens hold, or
one waiting for its holder's yes is refused."""
from common import crypto, i18n
from models.family import USABLE, FamilyMember
from models.user import Role, User
from services.errors import ValidationFailed
from services.identity import family_links, family_members
from services.identity.family_members import Known
from services.identity.numbers import validate_id_number


def _refused(field: str, en: str, zh: str, error: str) -> ValidationFailed:
    return ValidationFailed(en, zh, error=error, errors={f"form.{field}": [i18n.text(en, zh)]})


def _verified_elsewhere(index: str, applicant: User, known: Known | None) -> bool:
    if known is not None and known.looked_up(index):
        return known.verified[index] is not None
    return User.objects(id_number_index=index, role=Role.CITIZEN.value, real_name_verified=True,
                        id__ne=applicant.id).only("id").first() is not None


def _held_by_other_guardians(index: str, applicant: User, known: Known | None) -> bool:
    if known is not None and known.looked_up(index):
        return index in known.held
    return FamilyMember.objects(__raw__={
        "id_number_index": index, "owner": {"$ne": str(applicant.id)},
        "relation": {"$in": family_links.GUARDIAN_RELATIONS}, "status": USABLE}).only(
        "id").first() is not None


def _waiting_in_family(index: str, applicant: User, known: Known | None) -> bool:
    """The applicant's own entry with this number, waiting for a yes (or declined)."""
    if known is not None and known.looked_up(index):  # the read kept the entries with it
        return any(m.id_number_index == index for m in known.entries)
    return FamilyMember.objects(owner=str(applicant.id), id_number_index=index).only(
        "id").first() is not None


def check(*, applicant: User, family: list[FamilyMember], field: str, number: str,
          member: FamilyMember | None, known: Known | None = None) -> None:
    """Refuse a number typed for `member` (None: a family member yet to be recorded) that is the
    applicant's own, another family member's, a verified citizen's outside the family, or (for
    a child) one other citizens hold: those enter the family only with a yes (family_links).
    `known`: what the request's read found (family_members.Known), not read again."""
    index = crypto.blind_index("id_number", crypto.normalize("id_number", number))
    if index == applicant.id_number_index:
        raise _refused(field, "That is your own ID number.", "这是您本人的身份证号码。",
                       "own_id_number")
    listed = next((m for m in family if m.id_number_index == index), None)
    if listed is not None and (member is None or listed.id != member.id):
        raise _refused(field, "This ID number is another member's of your family.",
                       "该身份证号码属于您的另一位家庭成员。", "id_number_of_another_member")
    for_child = member is not None and member.relation in family_links.GUARDIAN_RELATIONS
    if listed is None and (_verified_elsewhere(index, applicant, known) or (
            for_child and _held_by_other_guardians(index, applicant, known))):
        if _waiting_in_family(index, applicant, known):  # theirs to confirm: say so
            raise _refused(
                field, "This person has not confirmed your request to add them to your family "
                       "yet.",
                "对方尚未确认您添加其为家庭成员的请求。", "family_member_pending")
        raise _refused(
            field, "This ID number is not one of your family's: check it, or add the person to "
                   "your family first.",
            "该身份证号码不属于您的家庭成员：请核对，或先将其添加为家庭成员。",
            "id_number_not_in_family")


def new_entries(*, applicant: User, typed: list[dict], known: Known | None = None) -> list:
    """The entries (family_members.new_entry's answers) that numbers typed for nobody in the
    family yet make, checked and not written: one without a name to give it makes none."""
    return [family_members.new_entry(owner=applicant, relation=given["relation"],
                                     name=given["name"], id_number=given["number"], known=known)
            for given in typed
            if given["relation"] and given["member"] is None and given["name"]]


def record(*, applicant: User, typed: list[dict], entries: list) -> None:
    """The typed numbers kept in the applicant's family: each on its member if it had none,
    and the `entries` new_entries made (those not written yet) stored."""
    for entry in entries:
        family_members.store_entry(*entry)
    for given in typed:
        member = given["member"]
        if given["relation"] and member is not None and not member.id_number_index:
            validate_id_number(given["number"])
            family_members.set_family_member_id_number(
                owner_id=str(applicant.id), member_id=str(member.id), id_number=given["number"])
