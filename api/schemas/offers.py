"""Proactive offers as the citizen reads and accepts them; life events as partners report them."""
from datetime import UTC

from marshmallow import RAISE, Schema, fields, validate

from models.offer import OfferSource, OfferStatus

ID = validate.Length(min=1, max=64)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class OfferQueryArgsSchema(Strict):
    status = fields.String(validate=validate.OneOf([s.value for s in OfferStatus]))


class NeededMaterialSchema(Schema):
    type = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class MaterialOnFileSchema(NeededMaterialSchema):
    material = fields.String(dump_only=True, metadata={"description": "the vault's material"})


class OfferSubjectSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"enum": ["self", "family", "newborn"]})
    id = fields.String(dump_only=True)


class OfferSchema(Schema):
    id = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    bundle_name = fields.String(dump_only=True)
    source = fields.String(dump_only=True, metadata={"enum": [s.value for s in OfferSource]})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in OfferStatus]})
    reason = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "expired, or accepted_by_family (the other "
                                                    "parent applied)"})
    subject = fields.Nested(OfferSubjectSchema, dump_only=True)
    prefill = fields.Dict(dump_only=True, metadata={
        "description": "what is filled in already (ID numbers masked): the joint form's "
                       "answers, and facts such as the birth certificate number",
        "example": {"newborn_name": "周小雨", "newborn_gender": "female",
                    "newborn_birth_date": "2026-05-01", "birth_hospital": "瑞安市人民医院",
                    "birth_certificate_number": "R330381001"}})
    materials_on_file = fields.List(fields.Nested(MaterialOnFileSchema), dump_only=True)
    materials_needed = fields.List(fields.Nested(NeededMaterialSchema), dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    application = fields.String(dump_only=True, allow_none=True,
                                metadata={"description": "the application accepting made"})


class OfferAcceptSchema(Strict):
    form = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), load_default=dict,
                       metadata={"description": "answers the prefill lacks; they win over it"})
    materials = fields.List(fields.String(validate=ID), load_default=list,
                            validate=validate.Length(max=50),
                            metadata={"description": "vault material ids; types on file need "
                                                     "not be given"})


class EventPersonSchema(Strict):
    role = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "birth: mother, father; marriage: spouse"})
    id_number = fields.String(required=True, load_only=True,
                              validate=validate.Length(min=1, max=32),
                              metadata={"description": "resident ID number (GB 11643)"})
    name = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=100))


class LifeEventCreateSchema(Strict):
    event_id = fields.String(required=True, validate=[
        validate.Length(min=1, max=128), validate.Regexp(r"^[\x21-\x7e]+$")],
        metadata={"description": "the partner's own id: sent again, nothing changes"})
    type = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "birth or marriage"})
    bundle = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "default: the type's (birth: newborn)"})
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC,
                                       metadata={"description": "ISO-8601 (UTC unless it says); "
                                                                "not in the future"})
    region = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    people = fields.List(fields.Nested(EventPersonSchema), required=True,
                         validate=validate.Length(min=1, max=4))
    facts = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), load_default=dict,
                        metadata={"description": "birth: newborn_name, newborn_gender, "
                                                 "birth_hospital, birth_certificate_number?, "
                                                 "birth_weight_grams?"})


class LifeEventAcceptedSchema(Schema):
    id = fields.String(dump_only=True)
    offers = fields.Integer(dump_only=True,
                            metadata={"description": "offers made now (people without an "
                                                     "account yet get theirs when they verify)"})
