"""A citizen's family members: spouse, children, parents; a minor child is someone to act for."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument
from models.sealed import SealedStringField
from models.user import Gender


class Relation(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"
    OTHER = "other"


# Relations whose minors the owner may act for (a guardian's standing).
GUARDIAN_OF = (Relation.CHILD, Relation.GRANDCHILD)

# What each relation is seen from the other side: a reciprocal listing proves a link.
RECIPROCAL = {Relation.SPOUSE: Relation.SPOUSE, Relation.SIBLING: Relation.SIBLING,
              Relation.OTHER: Relation.OTHER, Relation.CHILD: Relation.PARENT,
              Relation.PARENT: Relation.CHILD, Relation.GRANDCHILD: Relation.GRANDPARENT,
              Relation.GRANDPARENT: Relation.GRANDCHILD}


class MemberStatus(StrEnum):
    """Whether an entry counts: a pending one (waiting for the person named, or for the child's
    guardians) grants no access and cannot be put in a form; a declined one neither."""
    CONFIRMED = "confirmed"
    PENDING = "pending"
    DECLINED = "declined"


class Awaiting(StrEnum):
    CITIZEN = "citizen"  # the verified citizen whose ID number it is
    GUARDIANS = "guardians"  # the citizens who hold the child in their families


# A filter on `status` for entries that count (entries written before statuses have none).
USABLE = {"$nin": [MemberStatus.PENDING.value, MemberStatus.DECLINED.value]}


def is_usable(member: "FamilyMember") -> bool:
    return member.status not in (MemberStatus.PENDING, MemberStatus.DECLINED)


class FamilyMember(TimestampedDocument):
    owner = me.StringField(required=True)  # user id of the citizen whose family this is
    relation = me.StringField(required=True, choices=[r.value for r in Relation])
    name = SealedStringField(required=True, max_length=100)  # encrypted at rest
    # A newborn has no ID number until the police issue it: both may be unset.
    id_number_encrypted = me.StringField()
    id_number_index = me.StringField()
    birth_date = me.DateField()
    gender = me.StringField(choices=[g.value for g in Gender])
    # Consent (services/identity/family_links.py). None: an entry from before, as confirmed.
    status = me.StringField(choices=[s.value for s in MemberStatus])
    awaiting = me.StringField(choices=[a.value for a in Awaiting])
    via = me.StringField()  # how it was confirmed: unclaimed, reciprocal, spouse, citizen, ...
    decided_by = me.StringField()  # user id of the citizen who confirmed or declined it
    # Owners of other entries of the same child whose applications this entry shares (each
    # link made with a guardian's consent), and whether the child's own account does.
    linked_owners = me.ListField(me.StringField())
    linked_citizen = me.BooleanField()
    meta = {
        "collection": "family_members",
        "ordering": ["created_at"],
        "indexes": [
            "owner",
            {"fields": ["owner", "id_number_index"], "unique": True,
             "partialFilterExpression": {"id_number_index": {"$type": "string"}}},
            "id_number_index",
            ("relation", "birth_date"),  # children reaching school age (proactive offers)
        ],
    }
