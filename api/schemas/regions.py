"""Regions: the province's administrative divisions, and the field that names one."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from common import i18n
from services.regions import divisions


class RegionCode(fields.String):
    """A six-digit division code the province has (GB/T 2260, see GET /regions), of one of
    `levels` when given; any other is a 422 naming the field."""

    def __init__(self, *, levels: tuple[str, ...] | None = None, **kwargs):
        self.levels = levels
        metadata = {"description": "a division code from GET /api/v1/regions, e.g. 330381",
                    "example": "330381", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        region = divisions.find(code)
        if region is None:
            raise ValidationError(i18n.text(
                "{c} is not a division of Zhejiang (a six-digit GB/T 2260 code such as 330381).",
                "{c} 不是浙江省的行政区划（应为 6 位行政区划代码，如 330381）。", c=code[:16]))
        if self.levels and region.level not in self.levels:
            raise ValidationError(i18n.text(
                "{c} ({n}) is a {lv}; choose a county-level division (a district, county or "
                "county-level city).", "{c}（{n}）不是县级行政区划，请选择区、县或县级市。",
                c=code, n=region.name(), lv=region.level))
        return code


class RegionSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True, metadata={"description": "in the caller's language"})
    names = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True,
                        metadata={"description": "both languages: {\"zh-CN\": ..., \"en\": ...}"})
    parent = fields.String(dump_only=True, allow_none=True)
    level = fields.String(dump_only=True, metadata={"enum": list(divisions.LEVELS)})


class RegionQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    level = fields.String(validate=validate.OneOf(divisions.LEVELS))
    parent = RegionCode(metadata={"description": "only the divisions directly under this one"})
