"""The national 好差评 scale and the fixed tags a citizen may pick, in Chinese and English."""
from collections.abc import Iterable

from common import i18n
from services.errors import ValidationFailed

# 5 非常满意 … 1 非常不满意, as the national 好差评 rules name them.
SCORES: dict[int, tuple[str, str]] = {
    5: ("Very satisfied", "非常满意"),
    4: ("Satisfied", "满意"),
    3: ("Basically satisfied", "基本满意"),
    2: ("Dissatisfied", "不满意"),
    1: ("Very dissatisfied", "非常不满意"),
}
SATISFIED = (4, 5)

# code → (English, Chinese). Praise first, then what went wrong.
TAGS: dict[str, tuple[str, str]] = {
    "fast": ("Fast", "办理快捷"),
    "clear_guidance": ("Clear guidance", "指引清楚"),
    "no_trips": ("No trips needed", "一次都不用跑"),
    "helpful_staff": ("Helpful staff", "服务热情"),
    "slow": ("Too slow", "办理太慢"),
    "unclear_guidance": ("Unclear guidance", "指引不清楚"),
    "had_to_run_again": ("Had to go there again", "多跑了路"),
    "materials_asked_twice": ("Asked for materials twice", "材料重复提交"),
    "staff_attitude": ("Staff attitude", "服务态度差"),
    "app_problems": ("The app did not work well", "系统不好用"),
}
MAX_TAGS = 5


def score_label(score: int, locale: str | None = None) -> str:
    en, zh = SCORES[score]
    return i18n.text(en, zh, locale=locale)


def tag_view(code: str, locale: str | None = None) -> dict:
    en, zh = TAGS[code]
    return {"code": code, "label": i18n.text(en, zh, locale=locale)}


def check_tags(tags: Iterable[str] | None) -> list[str]:
    """The tags as given, each once, in order; 422 naming `tags` for any not on the list."""
    chosen = list(dict.fromkeys(tags or []))
    unknown = [t for t in chosen if t not in TAGS]
    if unknown:
        message = i18n.text("Unknown tags: {t}. Choose from: {c}.", "未知的标签：{t}。可选：{c}。",
                            t=", ".join(unknown), c=", ".join(TAGS))
        raise ValidationFailed("Some tags are not on the list.", "部分标签不在可选范围内。",
                               error="unknown_tags", errors={"tags": [message]})
    if len(chosen) > MAX_TAGS:
        raise ValidationFailed(errors={"tags": [i18n.text("At most {n} tags.",
                                                          "最多选择 {n} 个标签。", n=MAX_TAGS)]})
    return chosen
