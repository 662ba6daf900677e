"""Chinese and English: choosing the language and picking the text."""
from contextvars import ContextVar

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

# The language of the request being served; set by api/ from Accept-Language or the user's locale.
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


def normalize(tag: str | None) -> str | None:
    """Map any language tag to one we speak: zh, zh-TW, zh-Hans-CN → zh-CN; en-GB → en."""
    if not tag:
        return None
    tag = tag.strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best locale an Accept-Language header asks for, or None if it names none we speak."""
    if not accept_language:
        return None
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale = normalize(tag)
        if locale and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def pick(texts: dict[str, str] | None, locale: str | None = None) -> str:
    """The text for the locale from a {"zh-CN": ..., "en": ...} pair, falling back to the other."""
    if not texts:
        return ""
    locale = locale or current_locale.get()
    return texts.get(locale) or texts.get("zh-CN") or texts.get("en") or ""


def text(en: str, zh: str, locale: str | None = None, **params) -> str:
    """Inline bilingual text: text("Task {id} is waiting", "任务 {id} 正在等待", id=...)."""
    chosen = zh if (locale or current_locale.get()) == "zh-CN" else en
    return chosen.format(**params) if params else chosen
