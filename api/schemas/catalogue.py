"""The catalogue's contracts: departments, matters, bundles, checklists and their admin forms."""
from marshmallow import RAISE, Schema, fields, validate

from api.schemas.regions import RegionCode, RegionSchema
from models.catalogue import FieldType, Level, LimitUnit

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,63}$",
                       error="Lower-case letters, digits and underscores, starting with a letter.")
REGION = validate.Regexp(r"^\d{6}$", error="A six-digit administrative division code.")
FIELD_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$",
                             error="Lower-case letters, digits and underscores.")

LocalizedSchema = Schema.from_dict(
    {"zh-CN": fields.String(required=True, validate=validate.Length(min=1, max=500)),
     "en": fields.String(required=True, validate=validate.Length(min=1, max=500))},
    name="LocalizedSchema")
LocalizedLongSchema = Schema.from_dict(
    {"zh-CN": fields.String(required=True, validate=validate.Length(min=1, max=4000)),
     "en": fields.String(required=True, validate=validate.Length(min=1, max=4000))},
    name="LocalizedLongSchema")


def both_languages():
    return fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True,
                       metadata={"description": "both languages: {\"zh-CN\": ..., \"en\": ...}"})


class TimeLimitSchema(Schema):
    value = fields.Integer(required=True, validate=validate.Range(min=1, max=100000))
    unit = fields.String(required=True, validate=validate.OneOf([u.value for u in LimitUnit]))


# ---------------------------------------------------------------------------------------------
# Reading

class DepartmentSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True, metadata={"description": "in the caller's language"})
    names = both_languages()
    region = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "the region asked for (?region=), if any"})
    regions = fields.Integer(dump_only=True,
                             metadata={"description": "how many regions have this department"})
    matters = fields.Integer(dump_only=True, metadata={"description": "live matters it owns"})


class DepartmentQueryArgsSchema(Schema):
    q = fields.String(validate=validate.Length(max=100))
    region = RegionCode(metadata={"description": "only the departments this region has"})


class MatterQueryArgsSchema(Schema):
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "words in Chinese or English (names, synonyms)"})
    department = fields.String(validate=validate.Length(max=64))
    level = fields.String(validate=validate.OneOf([lv.value for lv in Level]))
    region = fields.String(validate=REGION, metadata={
        "description": "matters serving this region: its own, those within it and above it"})


class MatterItemSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()
    department = fields.String(dump_only=True)
    department_name = fields.String(dump_only=True)
    level = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True)
    parent = fields.String(dump_only=True, allow_none=True)
    promised = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True)


class FormFieldSchema(Schema):
    name = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    labels = both_languages()
    required = fields.Boolean(dump_only=True)
    pattern = fields.String(dump_only=True, allow_none=True)
    choices = fields.List(fields.String(), dump_only=True)
    choice_labels = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True)
    min = fields.Float(dump_only=True, allow_none=True)
    max = fields.Float(dump_only=True, allow_none=True)
    min_date = fields.String(dump_only=True, allow_none=True)
    max_date = fields.String(dump_only=True, allow_none=True)
    prefill = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "filled by the system when known: applicant.*, spouse.*, subject.*"})
    personal = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "name, address or account: personal data, kept encrypted and masked"})


class JointFormFieldSchema(FormFieldSchema):
    matters = fields.List(fields.String(), dump_only=True,
                          metadata={"description": "the matters that use this field"})


class OutputSchema(Schema):
    name = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    labels = both_languages()
    type = fields.String(dump_only=True)
    pattern = fields.String(dump_only=True, allow_none=True)
    required = fields.Boolean(dump_only=True)
    elicence = fields.String(dump_only=True, allow_none=True,
                             metadata={"description": "material type issued as an e-licence"})


class MatterMaterialSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    issued_by = fields.String(dump_only=True, allow_none=True)


class BundleRefSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class MatterSchema(MatterItemSchema):
    description = fields.String(dump_only=True)
    descriptions = both_languages()
    # Named so because Schema.fields is marshmallow's own.
    form_fields = fields.List(fields.Nested(FormFieldSchema), dump_only=True,
                              data_key="fields", attribute="fields")
    materials = fields.List(fields.Nested(MatterMaterialSchema), dump_only=True)
    inputs = fields.List(fields.String(), dump_only=True,
                         metadata={"description": "outputs of upstream matters it needs"})
    outputs = fields.List(fields.Nested(OutputSchema), dump_only=True)
    statutory = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True)
    synonyms = fields.List(fields.String(), dump_only=True)
    bundles = fields.List(fields.Nested(BundleRefSchema), dump_only=True)
    version = fields.Integer(dump_only=True)


class AdminMatterSchema(MatterSchema):
    retired = fields.Boolean(dump_only=True)


class FigureSetSchema(Schema):
    forms = fields.Integer(dump_only=True)
    materials = fields.Integer(dump_only=True)
    departments = fields.Integer(dump_only=True)
    matters = fields.Integer(dump_only=True)
    visits = fields.Integer(dump_only=True)
    days = fields.Float(dump_only=True)


class FiguresSchema(Schema):
    before = fields.Nested(FigureSetSchema, dump_only=True)
    after = fields.Nested(FigureSetSchema, dump_only=True)


class BundleItemSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()
    description = fields.String(dump_only=True)
    life_event = fields.String(dump_only=True, allow_none=True)
    version = fields.Integer(dump_only=True)
    synonyms = fields.List(fields.String(), dump_only=True)
    matters = fields.Integer(dump_only=True, metadata={"description": "how many matters"})
    figures_before = fields.Nested(FigureSetSchema, dump_only=True)
    figures_after = fields.Nested(FigureSetSchema, dump_only=True, metadata={
        "description": "as in the bundle's figures.after: one form, the checklist, the visits"})
    departments = fields.Integer(dump_only=True, metadata={"description": "how many departments"})
    score = fields.Float(dump_only=True, metadata={"description": "with q: how well it matches"})


class BundleQueryArgsSchema(Schema):
    q = fields.String(validate=validate.Length(max=200), metadata={
        "description": "what the citizen calls it, in Chinese or English (\"生孩子\", \"baby\")"})


class BundleDetailArgsSchema(Schema):
    version = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "a published version (default: the current one)"})
    region = RegionCode(metadata={
        "description": "show each step as this region carries it out: the handling region, "
                       "its promised limit and service window (实施清单)"})


class ServiceWindowSchema(Schema):
    address = fields.String(dump_only=True, allow_none=True)
    hours = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)


class StepSchema(Schema):
    matter = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()
    department = fields.String(dump_only=True)
    department_name = fields.String(dump_only=True)
    depends_on = fields.List(fields.String(), dump_only=True)
    level = fields.String(dump_only=True)
    materials = fields.List(fields.String(), dump_only=True)
    inputs = fields.List(fields.String(), dump_only=True)
    outputs = fields.List(fields.Nested(OutputSchema), dump_only=True)
    promised = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True, metadata={
        "description": "with ?region=: that region's promise when it set one"})
    region = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "with ?region=: the region whose department handles it (the asked "
                       "region at the matter's level)"})
    region_name = fields.String(dump_only=True, allow_none=True)
    available = fields.Boolean(dump_only=True, metadata={
        "description": "with ?region=: that region has the department"})
    local_promise = fields.Boolean(dump_only=True, metadata={
        "description": "with ?region=: the promise is the region's own, not the catalogue's"})
    window = fields.Nested(ServiceWindowSchema, dump_only=True, allow_none=True, metadata={
        "description": "with ?region=: where and when to go in person, if the region says"})
    statutory = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True)


class BundleMaterialSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()
    formats = fields.List(fields.String(), dump_only=True)
    matters = fields.List(fields.String(), dump_only=True)
    issued_by = fields.String(dump_only=True, allow_none=True)


class DepartmentRefSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()


class EdgeSchema(Schema):
    upstream = fields.String(dump_only=True, data_key="from")
    downstream = fields.String(dump_only=True, data_key="to")


class GraphSchema(Schema):
    nodes = fields.List(fields.String(), dump_only=True)
    edges = fields.List(fields.Nested(EdgeSchema), dump_only=True)


class BundleSchema(Schema):
    code = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    names = both_languages()
    description = fields.String(dump_only=True)
    descriptions = both_languages()
    life_event = fields.String(dump_only=True, allow_none=True)
    subject = fields.String(dump_only=True, metadata={
        "description": "whom an application is about when it names no `subject`: `self` (the "
                       "applicant) or `newborn` (a baby the joint form adds to the family)"})
    synonyms = fields.List(fields.String(), dump_only=True)
    steps = fields.List(fields.Nested(StepSchema), dump_only=True,
                        metadata={"description": "in dependency order"})
    graph = fields.Nested(GraphSchema, dump_only=True)
    form = fields.List(fields.Nested(JointFormFieldSchema), dump_only=True,
                       metadata={"description": "the joint form: each field once"})
    materials = fields.List(fields.Nested(BundleMaterialSchema), dump_only=True,
                            metadata={"description": "the checklist, each type once"})
    departments = fields.List(fields.Nested(DepartmentRefSchema), dump_only=True)
    figures = fields.Nested(FiguresSchema, dump_only=True)
    region = fields.Nested(RegionSchema, dump_only=True, allow_none=True,
                           metadata={"description": "with ?region=: the region shown"})
    available = fields.Boolean(dump_only=True, metadata={
        "description": "with ?region=: every step's department exists there"})


class BundleVersionRefSchema(Schema):
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True, allow_none=True)


class AdminBundleSchema(BundleSchema):
    retired = fields.Boolean(dump_only=True)
    versions = fields.List(fields.Nested(BundleVersionRefSchema), dump_only=True)


class ChecklistArgsSchema(Schema):
    subject = fields.String(validate=validate.Length(max=64), metadata={
        "description": "a family member's id when applying for them (e.g. the child)"})


class ChecklistItemSchema(BundleMaterialSchema):
    status = fields.String(dump_only=True, metadata={"description": "on_file or needed"})
    material = fields.String(dump_only=True, allow_none=True,
                             metadata={"description": "the vault material to reuse, if on file"})


class ChecklistSchema(Schema):
    bundle = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    subject = fields.String(dump_only=True, allow_none=True)
    items = fields.List(fields.Nested(ChecklistItemSchema), dump_only=True)
    on_file = fields.Integer(dump_only=True)
    needed = fields.Integer(dump_only=True)


# ---------------------------------------------------------------------------------------------
# Maintaining (admin)

class FormFieldInputSchema(Schema):
    name = fields.String(required=True, validate=FIELD_NAME)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in FieldType]))
    label = fields.Nested(LocalizedSchema, required=True)
    required = fields.Boolean(load_default=False)
    pattern = fields.String(allow_none=True, validate=validate.Length(max=500))
    choices = fields.List(fields.String(validate=validate.Regexp(r"^[^.$][^.]*$")),
                          validate=validate.Length(max=200))
    choice_labels = fields.Dict(keys=fields.String(), values=fields.Nested(LocalizedSchema))
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)
    min_date = fields.String(allow_none=True)
    max_date = fields.String(allow_none=True)
    prefill = fields.String(allow_none=True, validate=validate.Regexp(
        r"^(applicant|spouse|subject)\.[a-z_]+$"))
    personal = fields.String(allow_none=True,
                             validate=validate.OneOf(["name", "address", "account"]))


class OutputInputSchema(Schema):
    name = fields.String(required=True, validate=FIELD_NAME)
    label = fields.Nested(LocalizedSchema, required=True)
    type = fields.String(load_default="string",
                         validate=validate.OneOf([t.value for t in FieldType]))
    pattern = fields.String(allow_none=True, validate=validate.Length(max=500))
    required = fields.Boolean(load_default=True)
    elicence = fields.String(allow_none=True)


class MatterUpdateSchema(Schema):
    name = fields.Nested(LocalizedSchema)
    description = fields.Nested(LocalizedLongSchema)
    department = fields.String(validate=validate.Length(min=1, max=64))
    level = fields.String(validate=validate.OneOf([lv.value for lv in Level]))
    region = fields.String(allow_none=True, validate=REGION)
    parent = fields.String(allow_none=True)
    form_fields = fields.List(fields.Nested(FormFieldInputSchema), data_key="fields",
                              attribute="fields", validate=validate.Length(max=200))
    materials = fields.List(fields.String(), validate=validate.Length(max=50))
    outputs = fields.List(fields.Nested(OutputInputSchema), validate=validate.Length(max=50))
    inputs = fields.List(fields.String(validate=FIELD_NAME), validate=validate.Length(max=50))
    promised = fields.Nested(TimeLimitSchema)
    statutory = fields.Nested(TimeLimitSchema, allow_none=True)
    synonyms = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                           validate=validate.Length(max=100))


class MatterCreateSchema(MatterUpdateSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.Nested(LocalizedSchema, required=True)
    department = fields.String(required=True, validate=validate.Length(min=1, max=64))
    level = fields.String(required=True, validate=validate.OneOf([lv.value for lv in Level]))
    promised = fields.Nested(TimeLimitSchema, required=True)


class StepInputSchema(Schema):
    matter = fields.String(required=True, validate=validate.Length(min=1, max=64))
    depends_on = fields.List(fields.String(), load_default=list,
                             validate=validate.Length(max=100))


class FiguresInputSchema(Schema):
    forms = fields.Integer(validate=validate.Range(min=0, max=1000))
    materials = fields.Integer(validate=validate.Range(min=0, max=1000))
    departments = fields.Integer(validate=validate.Range(min=0, max=1000))
    matters = fields.Integer(validate=validate.Range(min=0, max=1000))
    visits = fields.Integer(validate=validate.Range(min=0, max=1000))
    days = fields.Float(validate=validate.Range(min=0, max=10000))


class BundleUpdateSchema(Schema):
    name = fields.Nested(LocalizedSchema)
    description = fields.Nested(LocalizedLongSchema)
    life_event = fields.String(validate=validate.Length(max=64))
    subject = fields.String(validate=validate.OneOf(["self", "newborn"]),
                            metadata={"description": "whom applications are about by default"})
    steps = fields.List(fields.Nested(StepInputSchema),
                        validate=validate.Length(min=1, max=100))
    figures_before = fields.Nested(FiguresInputSchema, allow_none=True)
    synonyms = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                           validate=validate.Length(max=200))
    visits_after = fields.Integer(validate=validate.Range(min=0, max=1))


class BundleCreateSchema(BundleUpdateSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.Nested(LocalizedSchema, required=True)
    steps = fields.List(fields.Nested(StepInputSchema), required=True,
                        validate=validate.Length(min=1, max=100))


# ---------------------------------------------------------------------------------------------
# Local implementation (实施清单): a region's own promise and window for a matter

class ServiceWindowInputSchema(Schema):
    class Meta:
        unknown = RAISE

    address = fields.Nested(LocalizedSchema)
    hours = fields.Nested(LocalizedSchema)
    phone = fields.String(validate=validate.Length(min=3, max=40))


class LocalImplementationUpdateSchema(Schema):
    class Meta:
        unknown = RAISE

    promised = fields.Nested(TimeLimitSchema, metadata={
        "description": "the region's own promised limit (no longer than the statutory one)"})
    window = fields.Nested(ServiceWindowInputSchema,
                           metadata={"description": "where and when to go in person"})


class LocalImplementationSchema(Schema):
    matter = fields.String(dump_only=True)
    region = fields.String(dump_only=True)
    region_name = fields.String(dump_only=True)
    promised = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True,
                             metadata={"description": "the region's own, else the catalogue's"})
    local_promise = fields.Boolean(dump_only=True)
    statutory = fields.Nested(TimeLimitSchema, dump_only=True, allow_none=True)
    window = fields.Nested(ServiceWindowSchema, dump_only=True, allow_none=True,
                           metadata={"description": "in the caller's language"})
    windows = fields.Dict(dump_only=True, allow_none=True,
                          metadata={"description": "the window in both languages"})
    updated_at = fields.DateTime(dump_only=True, allow_none=True)
