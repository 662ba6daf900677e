"""Reading one answer of the joint form out of what a citizen typed; masking what is private."""
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

from assistant.normalize import normalize
from common import calendar
from common.masking import ID_NUMBER, MOBILE, mask_private

# mask_private lives in common.masking (ratings mask comments with it too), and is offered here
# still, where the dialogue has always found it.
__all__ = ["NotAnAnswer", "choice_index", "mask_private", "read_value", "wants_to_skip"]

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
TIME = re.compile(r"(\d{1,2})\s*(?:[:：点时]|h)\s*(\d{1,2})?")
SKIP_WORDS = {"跳过", "不填", "没有", "无", "skip", "none", "n/a", "pass"}

CHOICE_SYNONYMS = {
    "male": ["男", "男孩", "男宝", "儿子", "男性", "boy", "son", "m"],
    "female": ["女", "女孩", "女宝", "女儿", "闺女", "女性", "girl", "daughter", "f"],
    "father": ["爸爸", "父亲", "孩子他爸", "我是爸爸", "dad", "daddy", "father", "the father"],
    "mother": ["妈妈", "母亲", "孩子他妈", "我是妈妈", "mom", "mum", "mother", "the mother"],
    "vaginal": ["顺产", "自然分娩", "自然产", "natural", "natural birth", "normal delivery"],
    "caesarean": ["剖腹产", "剖宫产", "剖腹", "c-section", "c section", "cesarean", "caesarean"],
    "bank_deduction": ["代扣", "银行代扣", "自动扣款", "direct debit", "bank"],
    "online_payment": ["线上", "网上缴费", "在线缴费", "线上缴费", "online", "pay online"],
}
ORDINALS = {"第一个": 1, "第二个": 2, "第三个": 3, "第四个": 4, "第五个": 5, "第一": 1, "第二": 2,
            "第三": 3, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
            "the first one": 1, "the second one": 2, "the third one": 3}
RELATIVE_DAYS = {"今天": 0, "今日": 0, "today": 0, "昨天": -1, "昨日": -1, "yesterday": -1,
                 "前天": -2, "大前天": -3, "the day before yesterday": -2}
MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}


class NotAnAnswer(ValueError):
    """The text does not read as an answer to this field."""


def _today() -> date:
    return calendar.current().local_date(datetime.now(UTC))


def choice_index(text: str, count: int) -> int | None:
    """0-based index when the text picks an item by number ("2", "第二个", "the first one")."""
    bare = normalize(text).strip(" .。!！")
    if bare.isdigit() and 1 <= int(bare) <= count:
        return int(bare) - 1
    number = ORDINALS.get(bare)
    return number - 1 if number and number <= count else None


def _date(text: str) -> str:
    today = _today()
    bare = normalize(text)
    for word, shift in sorted(RELATIVE_DAYS.items(), key=lambda kv: -len(kv[0])):
        if word in bare:
            return (today + timedelta(days=shift)).isoformat()
    match = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", bare)
    if match:
        year, month, day = map(int, match.groups())
    elif match := re.search(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})", bare):
        year, (month, day) = today.year, map(int, match.groups())
    elif match := re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3})[a-z]*\.?,?\s+(\d{4})", bare):
        day, month, year = int(match.group(1)), MONTHS.get(match.group(2)), int(match.group(3))
    elif match := re.search(r"([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", bare):
        month, day, year = MONTHS.get(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", bare):
        year, month, day = map(int, match.groups())
    else:
        raise NotAnAnswer("no date")
    try:
        return date(year, month or 0, day).isoformat()
    except (TypeError, ValueError):
        raise NotAnAnswer("no such date") from None


def _time(text: str) -> str:
    bare = normalize(text)
    match = TIME.search(bare)
    if not match:
        raise NotAnAnswer("no time")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if "半" in bare[match.end(1):match.end(1) + 3] and not match.group(2):
        minute = 30
    if any(w in bare for w in ("下午", "晚上", "傍晚", "pm", "p.m")) and hour < 12:
        hour += 12
    if hour == 12 and any(w in bare for w in ("凌晨", "am", "a.m")):
        hour = 0
    return f"{hour:02d}:{minute:02d}"


def _choice(field: dict, text: str):
    choices = list(field.get("choices") or [])
    bare = normalize(text).strip(" .。!！")
    index = choice_index(text, len(choices))
    if index is not None:
        return choices[index]
    labels = field.get("choice_labels") or {}
    for value in choices:
        names = {normalize(value), normalize(value.replace("_", " "))}
        label = labels.get(value)
        names |= {normalize(v) for v in (label.values() if isinstance(label, dict) else [label])
                  if v}
        names |= {normalize(s) for s in CHOICE_SYNONYMS.get(value, [])}
        if bare in names:
            return value
    # A longer sentence that names exactly one choice ("是个女孩", "she is a girl").
    found = {value for value in choices
             for name in CHOICE_SYNONYMS.get(value, []) + [_label_text(labels.get(value))]
             if name and (re.search(rf"(?<![a-z]){re.escape(normalize(name))}(?![a-z])", bare)
                          if re.search(r"[a-z]", normalize(name)) else normalize(name) in bare)}
    if len(found) == 1:
        return found.pop()
    raise NotAnAnswer("no choice")


def _label_text(label) -> str:
    if isinstance(label, dict):
        return label.get("zh-CN") or label.get("en") or ""
    return label or ""


def _number(field: dict, text: str):
    bare = normalize(text).replace(",", "")
    match = NUMBER.search(bare)
    if not match:
        raise NotAnAnswer("no number")
    value = float(match.group(0))
    # A weight in grams given in kilograms or jin (斤, 500 g), as parents say it.
    if field.get("name", "").endswith("_grams"):
        rest = bare[match.end():match.end() + 4].strip()
        if rest.startswith("斤"):
            value *= 500
        elif rest.startswith(("kg", "公斤", "千克")) or (value < 20 and not rest.startswith(
                ("g", "克"))):
            value *= 1000  # nobody weighs a baby at under 20 grams
    if field.get("type") == "integer":
        return int(round(value)) if abs(value - round(value)) < 1e-9 or value >= 100 else value
    return value


def _boolean(text: str) -> bool:
    bare = normalize(text).strip(" .。!！")
    if bare in {"是", "是的", "对", "有", "需要", "要", "yes", "y", "true", "yeah", "yep"}:
        return True
    if bare in {"否", "不是", "不", "没有", "无", "不需要", "不要", "no", "n", "false", "nope"}:
        return False
    raise NotAnAnswer("no yes or no")


def read_value(field: dict, text: str):
    """The value the text gives for the field, before the form's own checks; NotAnAnswer if
    nothing in it reads as one."""
    kind = field.get("type") or "string"
    raw = unicodedata.normalize("NFKC", text).strip()
    if not raw:
        raise NotAnAnswer("empty")
    if kind == "date":
        return _date(raw)
    if kind == "choice":
        return _choice(field, raw)
    if kind in ("integer", "number"):
        return _number(field, raw)
    if kind == "boolean":
        return _boolean(raw)
    if kind == "phone":
        match = MOBILE.search(raw)
        if not match:
            raise NotAnAnswer("no phone")
        return re.sub(r"\D", "", match.group(1))
    if kind == "id_number":
        match = ID_NUMBER.search(raw)
        if not match:
            raise NotAnAnswer("no ID number")
        return match.group(0).upper()
    pattern = field.get("pattern") or ""
    if ":[0-5]" in pattern:  # a time of day, hh:mm
        return _time(raw)
    if pattern.startswith(r"^\d"):  # digits only, maybe typed in groups: "6222 0202 ..."
        runs = re.findall(r"\d[\d\s-]*\d|\d", raw)
        if not runs:
            raise NotAnAnswer("no digits")
        return re.sub(r"[\s-]", "", max(runs, key=len))
    return raw.strip(" \"'“”‘’「」")


def wants_to_skip(text: str) -> bool:
    return normalize(text).strip(" .。!！") in SKIP_WORDS
