"""Authorization matrix entries of the catalogue (see authz_matrix.py): public reading, the
citizen's checklist, and maintenance by admins only."""
import itertools

from services.catalogue import admin as catalogue_admin
from services.catalogue import local
from tests import workflow_support as ws
from tests.api.authz_matrix import Call, Entry, admin_only, citizen_only, public

ENTRIES: dict[str, Entry] = {}
_codes = itertools.count(1)


def _matter_payload() -> dict:
    return {"code": f"matrix_matter_{next(_codes)}",
            "name": {"zh-CN": "矩阵事项", "en": "Matrix matter"},
            "department": "public_security", "level": "county", "materials": ["id_card"],
            "outputs": [{"name": "matrix_number", "label": {"zh-CN": "编号", "en": "Number"}}],
            "promised": {"value": 1, "unit": "working_days"}}


def _fresh_matter() -> str:
    ws.load_catalogue()
    return catalogue_admin.create_matter(data=_matter_payload())["code"]


def _bundle_payload(matter: str) -> dict:
    return {"code": f"matrix_bundle_{next(_codes)}",
            "name": {"zh-CN": "矩阵一件事", "en": "Matrix bundle"},
            "steps": [{"matter": matter}, {"matter": "vaccination_certificate"}]}


def _fresh_bundle() -> str:
    return catalogue_admin.create_bundle(data=_bundle_payload(_fresh_matter()))["code"]


def _seeded(url: str):
    def build(world, actor):
        ws.load_catalogue()
        return url
    return build


ENTRIES["GET /api/v1/departments"] = Entry(_seeded("/api/v1/departments"), public(200))
ENTRIES["GET /api/v1/matters"] = Entry(_seeded("/api/v1/matters?q=户口"), public(200))
ENTRIES["GET /api/v1/matters/<code>"] = Entry(
    _seeded("/api/v1/matters/newborn_household_registration"), public(200))
ENTRIES["GET /api/v1/bundles"] = Entry(_seeded("/api/v1/bundles?q=生孩子"), public(200))
ENTRIES["GET /api/v1/bundles/<code>"] = Entry(_seeded("/api/v1/bundles/newborn"), public(200))
ENTRIES["GET /api/v1/bundles/<code>/checklist"] = Entry(
    _seeded("/api/v1/bundles/newborn/checklist"), citizen_only(200),
    note="each citizen sees their own vault's answer; there is no one else's object here")

ENTRIES["POST /api/v1/admin/matters"] = Entry(
    lambda world, actor: (ws.load_catalogue(), Call("/api/v1/admin/matters",
                                                    json=_matter_payload()))[1],
    admin_only(201))
ENTRIES["GET /api/v1/admin/matters/<code>"] = Entry(
    lambda world, actor: f"/api/v1/admin/matters/{_fresh_matter()}", admin_only(200))
ENTRIES["PATCH /api/v1/admin/matters/<code>"] = Entry(
    lambda world, actor: Call(f"/api/v1/admin/matters/{_fresh_matter()}",
                              json={"synonyms": ["矩阵"]}), admin_only(200))
ENTRIES["POST /api/v1/admin/matters/<code>/retire"] = Entry(
    lambda world, actor: f"/api/v1/admin/matters/{_fresh_matter()}/retire", admin_only(200))
ENTRIES["POST /api/v1/admin/bundles"] = Entry(
    lambda world, actor: Call("/api/v1/admin/bundles", json=_bundle_payload(_fresh_matter())),
    admin_only(201))
ENTRIES["GET /api/v1/admin/bundles/<code>"] = Entry(
    lambda world, actor: f"/api/v1/admin/bundles/{_fresh_bundle()}", admin_only(200))
ENTRIES["PATCH /api/v1/admin/bundles/<code>"] = Entry(
    lambda world, actor: Call(f"/api/v1/admin/bundles/{_fresh_bundle()}",
                              json={"synonyms": ["矩阵"]}), admin_only(200))
ENTRIES["POST /api/v1/admin/bundles/<code>/retire"] = Entry(
    lambda world, actor: f"/api/v1/admin/bundles/{_fresh_bundle()}/retire", admin_only(200))


# ── Regions and local implementation (实施清单) ───────────────────────────────────────────────


def _local_call(world, actor, body: dict | None = None) -> Call:
    ws.load_catalogue()
    return Call("/api/v1/admin/matters/citizen_card/regions/330102", json=body)


def _local_delete(world, actor) -> Call:
    ws.load_catalogue()
    local.set_local(matter="citizen_card", region="330105",
                    promised={"value": 2, "unit": "working_days"})
    return Call("/api/v1/admin/matters/citizen_card/regions/330105")


ENTRIES.update({
    "GET /api/v1/regions": Entry(lambda w, a: "/api/v1/regions", public(200)),
    "GET /api/v1/admin/matters/<code>/regions/<region>": Entry(_local_call, admin_only(200)),
    "PUT /api/v1/admin/matters/<code>/regions/<region>": Entry(
        lambda w, a: _local_call(w, a, {"promised": {"value": 40, "unit": "minutes"}}),
        admin_only(200)),
    "DELETE /api/v1/admin/matters/<code>/regions/<region>": Entry(_local_delete,
                                                                   admin_only(204)),
})
