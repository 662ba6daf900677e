"""Text clean-up before understanding: one script, one width, one case, common typos fixed."""
import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

# Typos and regional variants seen in citizens' messages, applied after traditional→simplified
# conversion and lowercasing. Chinese ones are plain substrings: they never occur in correct text.
ZH_FIXES = {
    "身分证": "身份证", "户囗": "户口", "戶口": "户口", "幼儿圆": "幼儿园", "幼稚园": "幼儿园",
    "新生而": "新生儿", "出声证": "出生证", "出身证明": "出生证明", "结昏": "结婚", "节婚": "结婚",
    "登计": "登记", "登纪": "登记", "注消": "注销", "住销": "注销", "执造": "执照", "职照": "执照",
    "执找": "执照", "医宝": "医保", "社宝": "社保", "上排照": "上牌照", "挂排": "挂牌",
    "小买部": "小卖部", "变利店": "便利店", "进读": "进度", "近度": "进度", "转人宫": "转人工",
    "转人公": "转人工", "人宫客服": "人工客服", "人公客服": "人工客服", "材科": "材料",
    "资科": "资料", "手绪": "手续", "手序": "手续", "申清": "申请", "申晴": "申请",
    "宅基低": "宅基地", "盖房纸": "盖房子", "幼儿元": "幼儿园", "上户囗": "上户口",
    "准生正": "准生证", "疫苗本": "预防接种证", "机动车登计": "机动车登记", "进程查询": "进度查询",
    "出生医学证名": "出生医学证明", "营业执照办": "营业执照 办",
}
EN_FIXES = {
    r"kinder ?gard[ae]n|kindergart[oa]n|kindergarden": "kindergarten",
    r"regist(?:er|e)?ration|registraion|regisration|registartion|registation": "registration",
    r"licen[cs]e|lisence|licsence": "license",
    r"enrol(?:l)?ment|enrolement": "enrollment",
    r"enrol(?=\b)": "enroll",
    r"a?ppl(?:i|y)?ca(?:t|i)?(?:i)?on|aplication|applicaiton|applciation|appliction": "application",
    r"docu?m(?:e|a)?nt?s|documnets|documets|dcouments|docs": "documents",
    r"marr?(?:i|a)?(?:a|i)?ge|marrige|mariage|marraige": "marriage",
    r"bu(?:i|s)?s+i?ness|buisness|bussiness|busness|bizness": "business",
    r"vehi(?:c|k)(?:a|e)?l|vehical|vehicel|vechicle|vehicule": "vehicle",
    r"cert(?:i)?f(?:i)?cate|certficate|certifcate|certificat": "certificate",
    r"new ?bron|new born|newbron": "newborn",
    r"farm house": "farmhouse",
    r"huma?n|humna|hooman": "human",
    r"statsu|staus|stauts": "status",
    r"pl[sz]|pleas|plese": "please",
    r"thx|thanx|thnx|thnks|ty": "thanks",
    r"u": "you",
    r"ur": "your",
    r"wat|wht": "what",
    r"materails|matrials|meterials": "materials",
    r"requierd|requird|reqiured": "required",
}
_EN_PATTERN = [(re.compile(rf"\b(?:{pattern})\b"), repl) for pattern, repl in EN_FIXES.items()]
_ZH_PATTERN = re.compile("|".join(sorted(map(re.escape, ZH_FIXES), key=len, reverse=True)))
_SPACES = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([!?.,。！？，~～])\1+")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@lru_cache(maxsize=1)
def _converter() -> OpenCC:
    # The maintained OpenCC binding (PyPI `opencc`): its dictionaries ship in the wheel and one
    # conversion takes microseconds. "t2s" names its t2s.json configuration.
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text)


def normalize(text: str) -> str:
    """Simplified script, half-width, lowercase, typos fixed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = to_simplified(text).lower()
    text = _ZH_PATTERN.sub(lambda m: ZH_FIXES[m.group(0)], text)
    for pattern, repl in _EN_PATTERN:
        text = pattern.sub(repl, text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text or ""))


def detect_locale(text: str) -> str | None:
    """zh-CN when the text has Chinese characters, en when it is made of English words, else None.

    Mixed messages ("我想 apply newborn") are Chinese speakers borrowing English words.
    Too short to tell ("ok", "1") answers None so the conversation's language is kept.
    """
    if has_cjk(text):
        return "zh-CN"
    words = LATIN_WORD.findall(text or "")
    if len(words) >= 2 or (words and len(words[0]) >= 5):
        return "en"
    return None
