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


class FamilyMember(TimestampedDocument):
    owner = me.StringField(required=True)  # user id of the citizen whose family this is
    relation = me.StringField(required=True, choices=[r.value for r in Relation])
    name = SealedStringField(required=True, max_length=100)  # encrypted at rest
    # A newborn has no ID number until the police issue it: both may be unset.
    id_number_encrypted = me.StringField()
    id_number_index = me.StringField()
    birth_date = me.DateField()
    gender = me.StringField(choices=[g.value for g in Gender])
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
