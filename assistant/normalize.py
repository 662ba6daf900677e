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


def _words(text: str) -> list[str]:
    return text.split()


# Toneless Hanyu Pinyin syllables, to read a message typed in pinyin ("baobao chusheng le yao ban
# shenme"): every word must split into syllables. English words that also split ("change",
# "china", "you can") are not taken as pinyin when all the words of a message are among them.
PINYIN_SYLLABLES = frozenset(_words("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang
cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei deng di dia dian
diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu
ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang
hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin
jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang
kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu long lou lu
luan lun luo lv lve lue ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou
mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo
nv nve nue o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian
qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua
ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi
shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang
tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yong
you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen
zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
"""))
_LONGEST_SYLLABLE = max(map(len, PINYIN_SYLLABLES))
ENGLISH_LOOKING_PINYIN = frozenset(_words("""
a an and can change china chinese he hen long man men pen ran she sun you me ban fan pan tan
gang bang hang song dong ping pong ma panda banana mango tango zen yang hao ha haha hehe human
humans
"""))
ZERO_INITIAL = frozenset(_words("a ai an ang ao e ei en eng o ou"))
_LATIN_ONLY = re.compile(r"[a-z' \-.,!?~]+")


def split_pinyin(word: str) -> list[str] | None:
    """A word as the fewest pinyin syllables (the longest first where that ties), or None."""
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST_SYLLABLE), end):
            piece = word[start:end]
            if best[start] is not None and piece in PINYIN_SYLLABLES:
                candidate = best[start] + [piece]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    return best[-1]


def pinyin_form(text: str) -> str | None:
    """A message typed in toneless pinyin as its syllables separated by spaces ("xinshenger
    chusheng" → "xin sheng er chu sheng"); None when the (normalized) text is not pinyin."""
    if not text or not _LATIN_ONLY.fullmatch(text):
        return None
    words = re.findall(r"[a-z]+", text)
    if not words or all(w in ENGLISH_LOOKING_PINYIN for w in words):
        return None
    syllables = []
    for word in words:
        split = split_pinyin(word)
        # Inside a word a syllable without an initial ("an", "e") is rare in pinyin and common
        # in English read as pinyin ("caesarean" → "ca e sa re an"); 儿 ("er") is the exception.
        if split is None or any(s in ZERO_INITIAL for s in split[1:]):
            return None
        syllables.extend(split)
    # One word of two syllables is as often English ("male" → "ma le", "name" → "na me").
    if len(syllables) < 2 or (len(words) == 1 and len(syllables) < 3):
        return None
    return " ".join(syllables)
