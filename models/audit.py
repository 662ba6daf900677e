"""The audit log of officers' reads of citizens' materials: who, when, what, for which task."""
from enum import StrEnum

import mongoengine as me

from models.base import utcnow


class MaterialAction(StrEnum):
    METADATA = "metadata"  # read the material's details
    CONTENT = "content"  # downloaded its bytes through the API
    LINK_ISSUED = "link_issued"  # asked for a signed download link
    LINK_USED = "link_used"  # downloaded its bytes through a signed link
    REVIEW = "review"  # marked it verified or rejected


class MaterialAccess(me.Document):
    """One officer read of one material; written for every read, never updated."""

    at = me.DateTimeField(required=True, default=utcnow)
    officer = me.StringField(required=True)  # user id
    department = me.StringField()
    region = me.StringField()  # the officer's region
    material = me.StringField(required=True)  # material id
    owner = me.StringField(required=True)  # the citizen whose material it is
    task = me.StringField()  # the task the read was for
    application = me.StringField()
    matter = me.StringField()
    action = me.StringField(required=True, choices=[a.value for a in MaterialAction])
    request_id = me.StringField()
    meta = {
        "collection": "material_audit",
        "ordering": ["-at"],
        "indexes": [("material", "-at"), ("officer", "-at"), ("owner", "-at")],
    }
