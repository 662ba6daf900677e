"""Materials in a citizen's vault: files they uploaded and e-licences completed tasks issued."""
from datetime import datetime
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument, utcnow


class MaterialStatus(StrEnum):
    UPLOADED = "uploaded"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


class MaterialKind(StrEnum):
    UPLOAD = "upload"
    ELICENCE = "elicence"


UNUSABLE_STATUSES = (MaterialStatus.REJECTED, MaterialStatus.EXPIRED)


def upload_key(owner: str, type_code: str, sha256: str) -> str:
    """One upload per citizen, type and content: the same file given twice is kept once."""
    return f"upload:{owner}:{type_code}:{sha256}"


def elicence_key(task: str, type_code: str) -> str:
    """One e-licence per task and type: issuing it again returns the first one."""
    return f"elicence:{task}:{type_code}"


class MaterialQuerySet(me.QuerySet):
    def owned_by(self, owner: str) -> "MaterialQuerySet":
        return self.filter(owner=str(owner))

    def usable(self, now: datetime | None = None) -> "MaterialQuerySet":
        """Neither rejected nor expired, and still within its validity if it has one."""
        now = now or utcnow()
        # `$not` rather than an `$or` of "none" and "later": the embedded server plans no
        # filter with an operator at its top level and would read every material.
        return self.filter(
            __raw__={"status": {"$nin": [s.value for s in UNUSABLE_STATUSES]},
                     "valid_until": {"$not": {"$lte": now}}})


class Material(TimestampedDocument):
    owner = me.StringField(required=True)  # user id of the citizen whose vault holds it
    subject = me.StringField()  # who it is about when not the owner: a family member id
    type = me.StringField(required=True)  # material type code
    kind = me.StringField(required=True, choices=[k.value for k in MaterialKind],
                          default=MaterialKind.UPLOAD.value)
    status = me.StringField(required=True, choices=[s.value for s in MaterialStatus],
                            default=MaterialStatus.UPLOADED.value)

    # The kept bytes (uploads): real content type decided from the bytes, size and SHA-256 of
    # exactly what is stored in GridFS (after metadata was stripped).
    content_type = me.StringField()
    size = me.IntField(min_value=0)
    sha256 = me.StringField()
    file_id = me.ObjectIdField()
    filename = me.StringField(max_length=255)  # as the citizen named it; shown, never trusted

    # E-licences (电子证照): the issuing department, the licence number, how long it is valid.
    issuer = me.StringField()  # department code
    number_encrypted = me.StringField()  # licence numbers may be ID numbers: kept encrypted
    valid_until = me.DateTimeField()
    application = me.StringField()  # application id that issued it
    task = me.StringField()  # task id that issued it

    # The latest review by an officer.
    review_reason = me.StringField()
    reviewed_by = me.StringField()
    reviewed_at = me.DateTimeField()
    review_task = me.StringField()

    # upload_key() / elicence_key(): the database, not a read-then-write, keeps them unique.
    dedup_key = me.StringField(required=True)

    meta = {
        "collection": "materials",
        "queryset_class": MaterialQuerySet,
        "ordering": ["-created_at"],
        "indexes": [
            {"fields": ["dedup_key"], "unique": True},
            ("owner", "type", "-created_at"),
            ("owner", "sha256"),
            "file_id",
        ],
    }

    @property
    def effective_status(self) -> str:
        """The status a reader should see: a licence past its validity is expired."""
        if (self.status not in UNUSABLE_STATUSES and self.valid_until is not None
                and self.valid_until <= utcnow()):
            return MaterialStatus.EXPIRED.value
        return self.status

    @property
    def usable(self) -> bool:
        return self.effective_status not in UNUSABLE_STATUSES

    @property
    def is_elicence(self) -> bool:
        return self.kind == MaterialKind.ELICENCE
