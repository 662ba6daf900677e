"""The citizen's own profile, real-name verification and family members."""
from marshmallow import RAISE, Schema, fields, validate

from api.schemas.regions import RegionCode
from common import crypto
from models.family import Relation
from models.user import Gender
from services.identity import citizens, family_members
from services.regions import divisions

NAME = validate.Length(min=1, max=100)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class MeSchema(Schema):
    id = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)
    locale = fields.String(dump_only=True)
    phone = fields.Method("masked_phone", dump_only=True,
                          metadata={"description": "masked: 138****5678"})
    real_name_verified = fields.Boolean(dump_only=True)
    id_number = fields.Method("masked_id_number", dump_only=True, allow_none=True,
                              metadata={"description": "masked: 330381********123X"})
    birth_date = fields.Date(dump_only=True, allow_none=True)
    gender = fields.String(dump_only=True, allow_none=True)
    proactive_offers = fields.Boolean(
        dump_only=True, metadata={"description": "whether life events and enrolment seasons "
                                                 "bring me offers to apply (default true)"})
    region = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "where I live (GB/T 2260): my applications' region unless I say"})
    region_name = fields.Method("name_of_region", dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    def masked_phone(self, user):
        return crypto.mask_phone(citizens.phone_of(user))

    def masked_id_number(self, user):
        return crypto.mask_id_number(citizens.id_number_of(user))

    def name_of_region(self, user):
        region = divisions.find(user.region)
        return region.name() if region is not None else None


class MeUpdateSchema(Strict):
    name = fields.String(validate=NAME)
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))
    proactive_offers = fields.Boolean(
        metadata={"description": "false: no more proactive offers (births reported by a "
                                 "hospital, enrolment seasons)", "example": False})
    region = RegionCode(levels=("county",), allow_none=True, metadata={
        "description": "where I live: a county-level division (null: none chosen)"})


class RealNameSchema(Strict):
    name = fields.String(required=True, validate=NAME)
    id_number = fields.String(required=True, validate=validate.Length(min=1, max=32),
                              metadata={"description": "18-character resident ID number"})


class FamilyMemberSchema(Schema):
    id = fields.String(dump_only=True)
    relation = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    id_number = fields.Method("masked_id_number", dump_only=True, allow_none=True,
                              metadata={"description": "masked; null until one is known"})
    birth_date = fields.Date(dump_only=True, allow_none=True)
    gender = fields.String(dump_only=True, allow_none=True)
    minor = fields.Method("is_minor", dump_only=True,
                          metadata={"description": "under 18: the citizen may act for them"})
    status = fields.Method("status_of", dump_only=True, metadata={
        "description": "confirmed; pending: waiting for the citizen named (or the child's "
                       "guardians) to confirm, it grants nothing and cannot be put in a form "
                       "meanwhile; declined"})
    awaiting = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "while pending: `citizen` (the person whose ID number it is) or "
                       "`guardians` (the citizens who already hold the child)"})
    created_at = fields.DateTime(dump_only=True)

    def status_of(self, member):
        return member.status or "confirmed"

    def masked_id_number(self, member):
        return crypto.mask_id_number(citizens.id_number_of(member))

    def is_minor(self, member):
        return family_members.is_minor(member.birth_date)


class FamilyRequesterSchema(Schema):
    name = fields.String(dump_only=True, allow_none=True)
    id_number = fields.Method("masked_id_number", dump_only=True, allow_none=True,
                              metadata={"description": "masked, as verified"})

    def masked_id_number(self, user):
        return crypto.mask_id_number(citizens.id_number_of(user))


class FamilyRequestMemberSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class FamilyRequestSchema(Schema):
    id = fields.String(dump_only=True, metadata={"description": "the entry waiting"})
    relation = fields.String(dump_only=True, metadata={
        "description": "what the requester says the person is to them"})
    awaiting = fields.String(dump_only=True, metadata={
        "description": "`citizen`: you are the person named; `guardians`: the child in "
                       "`member` of your family"})
    status = fields.String(dump_only=True, dump_default="pending")
    requester = fields.Nested(FamilyRequesterSchema, dump_only=True, allow_none=True)
    member = fields.Nested(FamilyRequestMemberSchema, dump_only=True, allow_none=True, metadata={
        "description": "your own entry of the child asked about (guardians only)"})
    created_at = fields.DateTime(dump_only=True)


class FamilyMemberCreateSchema(Strict):
    relation = fields.String(required=True, validate=validate.OneOf([r.value for r in Relation]))
    name = fields.String(required=True, validate=NAME)
    id_number = fields.String(validate=validate.Length(min=1, max=32))
    birth_date = fields.Date(metadata={"description": "needed for a child without ID number"})
    gender = fields.String(validate=validate.OneOf([g.value for g in Gender]))
