"""The service catalogue: departments, material types, matters and "one thing" bundles."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class LimitUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    WORKING_DAYS = "working_days"


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    CHOICE = "choice"
    PHONE = "phone"
    ID_NUMBER = "id_number"


def localized(required: bool = True) -> me.DictField:
    """Text in both languages: {"zh-CN": "...", "en": "..."}."""
    return me.DictField(required=required)


class Department(TimestampedDocument):
    """A kind of department (公安局, 税务局, ...) and the regions that have one: a department of
    a region is the pair (code, region), e.g. public_security in 330381 is Ruian's police."""

    code = me.StringField(required=True, unique=True)
    name = localized()
    # Division codes (GB/T 2260) of the regions where this department exists: every county,
    # city or the province whose matters of this department citizens may apply for.
    regions = me.ListField(me.StringField())
    region = me.StringField()  # before regions: the one region it served (no longer read)
    synonyms = me.ListField(me.StringField())
    # Hash of the seed entry last applied: a reseed leaves admins' edits alone unless the
    # seed file itself changed.
    seed_hash = me.StringField()
    meta = {"collection": "departments", "ordering": ["code"], "indexes": ["regions"]}


class MaterialType(TimestampedDocument):
    code = me.StringField(required=True, unique=True)
    name = localized()
    formats = me.ListField(me.StringField(), default=lambda: ["jpeg", "png", "pdf"])
    # Set when a department issues it as an e-licence (电子证照) on completing a matter.
    issued_by = me.StringField()
    synonyms = me.ListField(me.StringField())
    description = localized(required=False)
    seed_hash = me.StringField()
    meta = {"collection": "material_types", "ordering": ["code"]}


class FormField(me.EmbeddedDocument):
    name = me.StringField(required=True)
    type = me.StringField(required=True, choices=[t.value for t in FieldType])
    label = localized()
    required = me.BooleanField(default=False)
    pattern = me.StringField()
    choices = me.ListField(me.StringField())
    min = me.FloatField()
    max = me.FloatField()
    min_date = me.StringField()  # ISO date, or relative to today: "today", "-30d", "+1y"
    max_date = me.StringField()
    # Filled by the system when it knows the answer: "applicant.name", "applicant.id_number",
    # "subject.name", "subject.birth_date", ... The citizen need not send it.
    prefill = me.StringField()
    # Labels of the choices in both languages: {"male": {"zh-CN": "男", "en": "Male"}}.
    choice_labels = me.DictField()
    # Personal data beyond ID numbers and phones (which are by their type): encrypted at rest,
    # masked in answers.
    personal = me.StringField(choices=("name", "address", "account"))


class OutputDefinition(me.EmbeddedDocument):
    name = me.StringField(required=True)  # e.g. citizen_id_number
    label = localized()
    type = me.StringField(default="string", choices=[t.value for t in FieldType])
    pattern = me.StringField()
    required = me.BooleanField(default=True)
    # When set, completing the matter puts an e-licence of this material type in the vault.
    elicence = me.StringField()


class TimeLimit(me.EmbeddedDocument):
    value = me.IntField(required=True, min_value=1)
    unit = me.StringField(required=True, choices=[u.value for u in LimitUnit])


class Matter(TimestampedDocument):
    """A matter (事项), the smallest particle of government work, owned by one department."""

    code = me.StringField(required=True, unique=True)
    name = localized()
    description = localized(required=False)
    department = me.StringField(required=True)
    level = me.StringField(required=True, choices=[lv.value for lv in Level])
    region = me.StringField()
    parent = me.StringField()  # code of the main item when this is a sub-item
    fields = me.EmbeddedDocumentListField(FormField)
    materials = me.ListField(me.StringField())  # material type codes
    outputs = me.EmbeddedDocumentListField(OutputDefinition)
    inputs = me.ListField(me.StringField())  # output names it needs from upstream matters
    promised = me.EmbeddedDocumentField(TimeLimit, required=True)
    statutory = me.EmbeddedDocumentField(TimeLimit)
    synonyms = me.ListField(me.StringField())
    version = me.IntField(default=1)
    retired = me.BooleanField(default=False)
    generated = me.BooleanField(default=False)  # made by `flask catalogue generate` (benchmarks)
    seed_hash = me.StringField()
    meta = {"collection": "matters", "ordering": ["code"],
            # updated_at: search indexes in every process catch up on what changed since.
            "indexes": ["department", "level", "parent", "retired", "generated", "updated_at"]}


class ServiceWindow(me.EmbeddedDocument):
    """Where and when a citizen can go in person: a hall's window, its address and hours."""

    address = localized(required=False)
    hours = localized(required=False)
    phone = me.StringField()


class LocalImplementation(TimestampedDocument):
    """How one region carries out one matter (实施清单): its own promised time limit (never
    longer than the statutory one) and its service window. A region without an entry follows
    the catalogue's matter."""

    matter = me.StringField(required=True)
    region = me.StringField(required=True)  # the region whose department handles the matter
    promised = me.EmbeddedDocumentField(TimeLimit)
    window = me.EmbeddedDocumentField(ServiceWindow)
    generated = me.BooleanField(default=False)  # made by `flask catalogue generate` (benchmarks)
    seed_hash = me.StringField()
    meta = {"collection": "local_implementations",
            "indexes": [{"fields": ["matter", "region"], "unique": True}, "region",
                        "generated"]}


class BundleStep(me.EmbeddedDocument):
    matter = me.StringField(required=True)
    depends_on = me.ListField(me.StringField())


class Figures(me.EmbeddedDocument):
    forms = me.IntField()
    materials = me.IntField()
    departments = me.IntField()
    matters = me.IntField()
    visits = me.IntField()
    days = me.FloatField()


class Bundle(TimestampedDocument):
    """A "one thing" (一件事): matters composed around one life event, dependencies a DAG."""

    code = me.StringField(required=True, unique=True)
    name = localized()
    description = localized(required=False)
    life_event = me.StringField()
    # Whom an application is about when it does not say (API.md, `subject`): the applicant, or
    # a newborn the joint form makes a family member.
    subject = me.StringField(default="self", choices=["self", "newborn"])
    steps = me.EmbeddedDocumentListField(BundleStep)
    figures_before = me.EmbeddedDocumentField(Figures)
    synonyms = me.ListField(me.StringField())  # how citizens name it, both languages
    # After the reform: 0 when everything is done online or at a service station on the way,
    # 1 when the citizen must still show up once (e.g. to present the vehicle).
    visits_after = me.IntField(default=0, min_value=0, max_value=1)
    version = me.IntField(default=1)
    retired = me.BooleanField(default=False)
    seed_hash = me.StringField()
    meta = {"collection": "bundles", "ordering": ["code"]}


class BundleVersion(me.Document):
    """A bundle exactly as it was at one version, compiled: applications point at it."""

    bundle = me.StringField(required=True)
    version = me.IntField(required=True)
    definition = me.DictField(required=True)
    created_at = me.DateTimeField()
    meta = {"collection": "bundle_versions",
            "indexes": [{"fields": ["bundle", "version"], "unique": True}]}


class CatalogueState(me.Document):
    """One document counting catalogue changes: processes rebuild their search index on a bump."""

    id = me.StringField(primary_key=True, default="catalogue")
    revision = me.IntField(default=0)
    stamp = me.StringField()  # random, new at every change
    stamps = me.ListField(me.StringField())  # the last few stamps: the recent history
    reset = me.IntField(default=0)  # bumped when matters are removed, not just changed
    reset_at = me.DateTimeField()
    updated_at = me.DateTimeField()
    meta = {"collection": "catalogue_state"}


class CatalogueIndexSnapshot(me.Document):
    """Which stored snapshot of the search index is current (one document, id "current"): a
    process starting loads it and catches up instead of reading every matter."""

    id = me.StringField(primary_key=True, default="current")
    snapshot = me.StringField(required=True)  # the parts' snapshot id
    parts = me.IntField(required=True)
    stamp = me.StringField(required=True)  # the catalogue's stamp it was made at
    revision = me.IntField()
    reset = me.IntField()
    synced_from = me.DateTimeField()  # matters changed since are read on top of it
    size = me.IntField()  # bytes, compressed
    created_at = me.DateTimeField()
    meta = {"collection": "catalogue_index"}


class CatalogueIndexPart(me.Document):
    """One piece of a stored snapshot (zlib-compressed JSON, split under the document limit)."""

    snapshot = me.StringField(required=True)
    part = me.IntField(required=True)
    data = me.BinaryField(required=True)
    created_at = me.DateTimeField()
    meta = {"collection": "catalogue_index_parts",
            "indexes": [("snapshot", "part"), "created_at"]}
