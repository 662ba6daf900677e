"""A catalogue the size of Zhejiang's (1,411 main items, 3,443 sub-items), for benchmarks.

Generated matters are plausible (bilingual names built from real kinds of government work,
spread over the province, its 11 cities and 90 counties as data/regions/zhejiang.yaml lists them,
and over the departments) and marked `generated`, so a rerun replaces them and never touches the
seeded catalogue. Each county-level matter comes with its county's local implementation (实施清单:
a promise of its own, a service window), and every one of the 90 counties has some.
"""
import logging
import random
from datetime import UTC, datetime

from pymongo import UpdateOne

from models import catalogue_state
from models.catalogue import Department, LocalImplementation, Matter
from services.regions import divisions

log = logging.getLogger(__name__)

PROVINCE = "330000"

EXTRA_DEPARTMENTS = {
    "ecology_environment": ("生态环境局", "Ecology and Environment Bureau"),
    "emergency_management": ("应急管理局", "Emergency Management Bureau"),
    "culture_tourism": ("文化广电旅游局", "Culture, Radio, TV and Tourism Bureau"),
    "water_resources": ("水利局", "Water Resources Bureau"),
    "commerce": ("商务局", "Commerce Bureau"),
    "veterans_affairs": ("退役军人事务局", "Veterans Affairs Bureau"),
    "justice": ("司法局", "Justice Bureau"),
    "forestry": ("林业局", "Forestry Bureau"),
    "sports": ("体育局", "Sports Bureau"),
    "fire_rescue": ("消防救援大队", "Fire and Rescue Brigade"),
}

# What departments deal with: (zh, en) objects of their matters.
OBJECTS = {
    "health": [("医师执业", "medical practice"), ("护士执业", "nursing practice"),
               ("医疗机构执业", "medical institution"), ("放射诊疗", "radiology"),
               ("公共场所卫生", "public place hygiene"), ("母婴保健技术", "maternal care")],
    "public_security": [("居民身份证", "resident ID card"), ("户口迁移", "household transfer"),
                        ("居住证", "residence permit"), ("机动车驾驶证", "driving licence"),
                        ("出入境证件", "travel document"), ("剧毒化学品购买", "toxic chemicals"),
                        ("保安服务", "security services"), ("犬只", "dog ownership")],
    "market_regulation": [("食品经营", "food business"), ("特种设备", "special equipment"),
                          ("计量器具", "measuring instruments"), ("药品零售", "retail pharmacy"),
                          ("广告发布", "advertising"), ("企业名称", "company name"),
                          ("工业产品生产", "industrial production")],
    "taxation": [("增值税", "value-added tax"), ("个人所得税", "individual income tax"),
                 ("房产税", "property tax"), ("印花税", "stamp duty"), ("发票", "invoice"),
                 ("出口退税", "export tax refund")],
    "hrss": [("职业技能等级", "vocational skills"), ("失业保险金", "unemployment benefit"),
             ("工伤认定", "work injury"), ("养老保险", "pension insurance"),
             ("人力资源服务", "HR services"), ("职称评审", "professional titles")],
    "medical_insurance": [("异地就医", "treatment elsewhere"), ("门诊慢特病", "chronic illness"),
                          ("医保定点", "designated provider"), ("医疗费用报销", "medical bills")],
    "education": [("民办学校", "private school"), ("教师资格", "teacher qualification"),
                  ("校外培训机构", "tutoring centre"), ("学历证明", "academic record")],
    "civil_affairs": [("社会团体", "social organisation"), ("养老机构", "care home"),
                      ("最低生活保障", "minimum living allowance"), ("殡葬服务", "funeral"),
                      ("地名命名", "place naming")],
    "transport": [("道路运输经营", "road transport"), ("出租汽车", "taxi"),
                  ("船舶登记", "ship registration"), ("公路占用", "road occupation"),
                  ("机动车维修", "vehicle repair")],
    "natural_resources": [("建设用地", "construction land"), ("采矿权", "mining right"),
                          ("建设工程规划", "building planning"), ("不动产", "real estate"),
                          ("测绘资质", "surveying")],
    "housing": [("建筑施工", "construction works"), ("商品房预售", "off-plan sales"),
                ("物业服务", "property management"), ("燃气经营", "gas supply"),
                ("城市绿化", "urban greening")],
    "agriculture_rural": [("农药经营", "pesticide sales"), ("种子生产", "seed production"),
                          ("兽药经营", "veterinary drugs"), ("渔业捕捞", "fishing"),
                          ("农机", "farm machinery")],
    "ecology_environment": [("排污", "pollutant discharge"),
                            ("环境影响评价", "environmental impact"),
                            ("危险废物", "hazardous waste"), ("辐射安全", "radiation safety")],
    "emergency_management": [("危险化学品经营", "hazardous chemicals"),
                             ("烟花爆竹经营", "fireworks"), ("安全生产", "work safety")],
    "culture_tourism": [("旅行社", "travel agency"), ("娱乐场所", "entertainment venue"),
                        ("营业性演出", "commercial performance"), ("文物保护", "heritage")],
    "water_resources": [("取水", "water abstraction"), ("河道管理范围内建设", "riverside works"),
                        ("水土保持", "soil and water conservation")],
    "commerce": [("对外贸易经营者", "foreign trade operator"), ("单用途预付卡", "prepaid card"),
                 ("报废机动车回收", "scrap vehicles")],
    "veterans_affairs": [("优待证", "preferential treatment card"),
                         ("抚恤补助", "veterans' pension")],
    "justice": [("律师执业", "lawyers' practice"), ("公证", "notarisation"),
                ("法律援助", "legal aid")],
    "forestry": [("林木采伐", "tree felling"), ("野生动物驯养", "wildlife breeding"),
                 ("林地占用", "forest land use")],
    "sports": [("高危险性体育项目", "high-risk sports"), ("体育赛事", "sports events")],
    "fire_rescue": [("公众聚集场所投入使用", "public venue opening"),
                    ("建设工程消防验收", "fire safety acceptance")],
    "community_health": [("预防接种", "vaccination"), ("家庭医生签约", "family doctor"),
                         ("健康档案", "health record")],
    "tobacco": [("烟草专卖零售", "tobacco retail")],
}

# (zh, en) kinds of power (事项类型) and what a matter does.
ACTIONS = [("许可", "permit"), ("登记", "registration"), ("备案", "filing"),
           ("核发", "issuance"), ("变更", "change"), ("延续", "renewal"), ("注销", "cancellation"),
           ("确认", "confirmation"), ("给付", "payment"), ("审批", "approval"),
           ("年度报告", "annual report"), ("证明", "certificate"), ("补助申领", "subsidy claim"),
           ("资格认定", "qualification"), ("检查", "inspection")]
SUB_VARIANTS = [("新办", "new"), ("变更", "change"), ("延续", "renewal"), ("注销", "cancellation"),
                ("补证", "replacement"), ("迁移", "transfer"), ("个人", "individuals"),
                ("企业", "businesses")]
MATERIALS = ["id_card", "household_register", "business_licence", "premises_proof",
             "lease_contract", "property_certificate", "residence_permit"]
COMMON_FIELDS = [
    {"name": "applicant_name", "type": "string", "required": True, "prefill": "applicant.name",
     "label": {"zh-CN": "申请人姓名", "en": "Applicant's name"}},
    {"name": "applicant_id_number", "type": "id_number", "required": True,
     "pattern": r"^\d{17}[\dX]$", "prefill": "applicant.id_number",
     "label": {"zh-CN": "申请人公民身份号码", "en": "Applicant's citizen ID number"}},
    {"name": "contact_phone", "type": "phone", "required": True, "pattern": r"^1[3-9]\d{9}$",
     "prefill": "applicant.phone", "label": {"zh-CN": "联系电话", "en": "Contact phone"}},
]


def regions() -> dict[str, list[str]]:
    """Zhejiang's divisions by level, from the regions file: the province, its 11 cities and
    their 90 counties."""
    return {level: list(divisions.codes(level)) for level in divisions.LEVELS}


def _ensure_departments() -> list[str]:
    now = datetime.now(UTC)
    Department._get_collection().bulk_write([
        UpdateOne({"code": code}, {"$setOnInsert": {
            "code": code, "name": {"zh-CN": zh, "en": en}, "regions": list(divisions.codes()),
            "synonyms": [], "created_at": now, "updated_at": now}}, upsert=True)
        for code, (zh, en) in EXTRA_DEPARTMENTS.items()])
    return sorted(OBJECTS)


def _local(matter: dict, rng: random.Random, now: datetime) -> dict:
    """The county's own way of carrying out a county-level matter: often a shorter promise,
    always its government service centre's window."""
    county = divisions.find(matter["region"])
    promised = dict(matter["promised"])
    if promised["value"] > 1 and rng.random() < 0.6:
        promised["value"] = rng.randint(1, promised["value"] - 1)  # 承诺提速: a faster promise
    return {
        "matter": matter["code"], "region": county.code, "promised": promised,
        "window": {"address": {"zh-CN": f"{county.names['zh-CN']}政务服务中心 综合受理窗口",
                               "en": f"{county.names['en']} Government Service Centre, "
                                     "general counter"},
                   "hours": {"zh-CN": "工作日 9:00–17:00", "en": "Working days 9:00-17:00"},
                   "phone": "12345"},  # the province's government service hotline
        "generated": True, "created_at": now, "updated_at": now,
    }


def _limits(rng: random.Random) -> tuple[dict, dict]:
    promised = rng.choice([1, 1, 2, 3, 5, 5, 7, 10, 15, 20])
    statutory = promised + rng.choice([0, 2, 5, 10, 15])
    return ({"value": promised, "unit": "working_days"},
            {"value": statutory, "unit": "working_days"})


def _matter(code: str, name: tuple[str, str], department: str, level: str, region: str,
            parent: str | None, rng: random.Random, now: datetime) -> dict:
    promised, statutory = _limits(rng)
    zh, en = name
    extra = {"name": "matter_details", "type": "text", "required": rng.random() < 0.5,
             "label": {"zh-CN": "申请事项说明", "en": "Details of the request"}}
    return {
        "code": code, "name": {"zh-CN": zh, "en": en},
        "description": {"zh-CN": f"{zh}（{level}级，区划 {region}）。",
                        "en": f"{en} ({level} level, division {region})."},
        "department": department, "level": level, "region": region, "parent": parent,
        "fields": [*COMMON_FIELDS, extra],
        "materials": rng.sample(MATERIALS, rng.randint(1, 3)),
        "outputs": [{"name": "decision_number", "type": "string", "required": True,
                     "label": {"zh-CN": "决定文书号", "en": "Decision number"}}],
        "inputs": [], "promised": promised, "statutory": statutory,
        "synonyms": [zh[:4]] if len(zh) > 4 else [], "version": 1, "retired": False,
        "generated": True, "created_at": now, "updated_at": now,
    }


def generate(*, main: int = 1411, sub: int = 3443, seed: int = 20190316,
             batch: int = 2000) -> dict:
    """Replace the generated matters with `main` main items and `sub` sub-items of them."""
    rng = random.Random(seed)  # nosec B311  # seeded test catalogue
    now = datetime.now(UTC)
    collection = Matter._get_collection()
    local_collection = LocalImplementation._get_collection()
    removed = collection.delete_many({"generated": True}).deleted_count
    local_collection.delete_many({"generated": True})
    departments = _ensure_departments()
    by_level = regions()
    levels = ["province"] * 15 + ["city"] * 30 + ["county"] * 55
    pending: list[dict] = []
    locals_pending: list[dict] = []
    mains: list[dict] = []
    counties_served: set[str] = set()
    county_matters: list[dict] = []

    def flush(force: bool = False) -> None:
        if pending and (force or len(pending) >= batch):
            for document in pending:
                if document["level"] == "county":
                    locals_pending.append(_local(document, rng, now))
                    counties_served.add(document["region"])
                    county_matters.append(document)
            collection.insert_many(pending, ordered=False)
            pending.clear()
        if locals_pending and (force or len(locals_pending) >= batch):
            local_collection.insert_many(locals_pending, ordered=False)
            locals_pending.clear()

    for n in range(1, main + 1):
        department = rng.choice(departments)
        object_zh, object_en = rng.choice(OBJECTS[department])
        action_zh, action_en = rng.choice(ACTIONS)
        level = rng.choice(levels)
        document = _matter(f"gen_m{n:05d}", (f"{object_zh}{action_zh}",
                                             f"{object_en.capitalize()} {action_en}"),
                           department, level, rng.choice(by_level[level]), None, rng, now)
        mains.append(document)
        pending.append(document)
        flush()
    for n in range(1, sub + 1):
        parent = mains[rng.randrange(len(mains))] if mains else None
        if parent is None:
            break
        variant_zh, variant_en = rng.choice(SUB_VARIANTS)
        level = parent["level"]
        document = _matter(f"{parent['code']}_s{n:05d}",
                           (f"{parent['name']['zh-CN']}（{variant_zh}）",
                            f"{parent['name']['en']} ({variant_en})"),
                           parent["department"], level, rng.choice(by_level[level]),
                           parent["code"], rng, now)
        pending.append(document)
        flush()
    flush(force=True)
    # Every county carries out some county-level matter in its own way, however the dice fell.
    for county in by_level["county"]:
        if county not in counties_served and county_matters:
            locals_pending.append(_local(dict(rng.choice(county_matters), region=county), rng,
                                         now))
    flush(force=True)
    catalogue_state.bump_revision(reset=True)
    summary = {"removed": removed, "main": len(mains), "sub": sub if mains else 0,
               "local": local_collection.count_documents({"generated": True})}
    summary["total"] = summary["main"] + summary["sub"]
    log.info("generated catalogue: %s", summary)
    return summary
