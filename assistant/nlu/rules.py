"""Rules before any classifier: requests for a person (never missed), yes, no and hello."""
import re

# A request for a person is always honoured: these rules come before any classifier. They are
# matched on normalized text (simplified, lowercase, half-width). Every usual way to ask: a human
# agent (人工, 客服, 真人, 工作人员), whether anybody is there (有人吗, 人呢, anyone there), a
# complaint or someone in charge (投诉, 举报, 找领导), a call back (打电话给我, call me), and
# giving up on the machine (机器人听不懂, 不要自动回复).
HANDOFF_ZH = re.compile(
    # a human agent
    r"人工(?!智能|费|成本|授精|降雨|湖|草|合成|呼吸|流产|养殖|种植|岛|河)|客服|"
    r"(?<!是)(?<!不是)真人|活人|"
    r"(有|找|跟|和|同|联系|要|让|请|转|叫|派|换|接|给我|麻烦).{0,5}工作人员|"
    r"工作人员.{0,6}(联系我|打电话|回电|给我回|来处理|来帮|帮我|跟我说|和我说|在吗|在不在|在线)|"
    r"(找|要|跟|去).{0,4}(窗口|柜台)的?(人|工作)|"
    # is anybody there
    r"有人(吗|么|嘛|没|不|在(吗|么|嘛|不|没|线)|在不在|回复|理|管|能帮|可以帮|接)|有没有人|"
    r"^人呢|[,.!?，。！？\s]人呢|^人在哪|人都去哪|没人(理|管|回|接|处理|答)|"
    r"(来|叫|找|换|要)(一?个|位)(真|活)?人|(叫|找|换|要)(一?个|位).{0,4}的人(来|吧|过来|帮|$)|"
    r"找人(聊|说|谈|问|帮|处理|解答)|我要找人|市长热线|政务热线|服务热线|"
    r"(跟|和|同)(人|真人|活人)(说|讲|聊|谈|沟通)|找个(懂|明白)的?人|"
    # complaints and people in charge
    r"投诉|举报|(?<!\d)12345(?!\d)|信访|"
    r"(找|叫|要见|见|让|请|喊|要|转).{0,6}(领导|负责人|主任|局长|科长|处长|经理|主管|上级)|"
    r"(领导|负责人|主任|主管)(是谁|在哪|在吗|出来|电话)|"
    # a call
    r"打电话给我|给我(打|回|来)(个|一个|一下)?电话|(打|回|来)(个|一个)电话(过来|给我)|回个?电话|"
    r"回电|电话(联系|沟通|找我|打给我)|(请|麻烦|尽快|赶紧|马上|快)联系我|留个?电话|当面(说|谈|讲|沟通)|"
    # not the machine
    r"(不想|不要|不愿意?|别|拒绝)(再)?(跟|和|同)?(你|机器|机器人|ai|电脑|自动回复|人工智能)(说|聊|讲|对话|回复)?|"
    r"(机器人|机器|ai)(听不懂|太笨|好笨|没用|不行|答非所问|解决不了|回答不了)|"
    r"(别|不要)(再)?自动回复|听不懂人话|"
    r"接线员|坐席|座席|"
    r"zhuan ?ren ?gong|ren ?gong ?(ke ?fu|fu ?wu)?$|^ren ?gong|ke ?fu|you ?ren ?ma|tou ?su"
)
HANDOFF_EN = re.compile(
    r"\b(?:human(?!\s+(?:resources|papilloma\w*|rights|body|error|nature))|humans|"
    r"real person|real people|actual person|real human|live (?:agent|person|chat|support|help)|"
    r"(?:^|\b(?:an?|to|live|human|real|support|service|customer|your)\s)"
    r"(?:agent|operator|representative)s?\b(?!\s+(?:of|said|says|told))|"
    r"customer (?:service|support|care)|"
    r"support staff|staff member|member of staff|someone real|somebody real|"
    r"(?:speak|talk|chat)(?:ing)? (?:to|with) (?:an? |the |your |some )?(?:officer|staff|person|"
    r"people|someone|somebody|human|agent|representative|operator|real|actual|manager|"
    r"supervisor|boss|colleague)|"
    r"(?:get|give|find|connect|transfer|put|pass|send|escalate|forward) (?:me|this|it)"
    r"(?: through| on| over)? (?:to )?(?:an? |your |the )?(?:person|someone|somebody|officer|"
    r"staff|manager|supervisor|human|colleague|agent)|"
    r"(?:can|could|will) (?:a |some )?(?:person|human|someone|somebody|staff) help|"
    r"(?:any|some)(?:one|body) (?:i|we) can (?:talk|speak|chat)|"
    r"(?:a |the )?(?:person|human|someone|somebody) on the (?:phone|line)|"
    r"connect me (?:with|to)|put me through|"
    r"escalate|complaint|complain|complaining|"
    r"(?:call|phone|ring) me|give me a call|call ?back|person please|"
    r"(?:have|get|let) (?:someone|somebody|a person|staff|an officer|a human) "
    r"(?:contact|call|phone|ring|reach|help) me|(?:please|pls|someone|somebody) contact me|"
    r"contact me (?:please|asap|now|directly|by phone)|"
    r"(?:need|want|prefer) (?:a |an actual |a real )?(?:person|human|people)\b|"
    r"not (?:a |the )?(?:bot|robot|machine)|(?:any|some)(?:one|body) (?:there|here|around|"
    r"home|real|who can)|is (?:any|some)(?:one|body) (?:there|here|around|reading|listening)|"
    r"(?:bot|robot|machine|assistant) (?:is )?(?:useless|stupid|not helping|doesn't understand|"
    r"does not understand)|(?:your |a )(?:manager|supervisor|boss))\b"
)
HANDOFF_NEGATION_ZH = re.compile(r"(不用|不要|不需要|无需|没必要|别|不必|用不着|不是要|不想)(再)?"
                                 r"(转|找|接|叫|要|跟|和|联系|请|麻烦)?(个|一下)?(人工|真人|客服)?$")
HANDOFF_NEGATION_EN = re.compile(r"\b(no need (?:for|to)|don't need|do not need|dont need|"
                                 r"without)\W*(?:\w+\W+){0,3}$")

PUNCT = re.compile(r"[\s,.!?;:~'\"，。！？；：、…~～（）()\[\]【】]+")
CONFIRM_WORDS = {
    "是", "是的", "是啊", "对", "对的", "对呀", "好", "好的", "好啊", "好吧", "行", "行的", "可以",
    "确认", "确定", "提交", "没问题", "没错", "同意", "嗯", "嗯嗯", "恩", "好嘞", "ok",
    "okay", "yes", "yeah", "yep", "yup", "sure", "confirm", "submit", "correct", "right", "y",
    "go ahead", "yes please", "of course", "提交吧", "可以的", "ok提交", "对没错",
}
DENY_WORDS = {
    "不", "不是", "不要", "不用", "不用了", "不行", "不对", "取消", "算了", "不办了", "先不办",
    "别", "别了", "停", "no", "nope", "nah", "cancel", "stop", "n", "not now", "never mind",
    "nevermind", "forget it", "no thanks", "不了", "算了吧", "不需要",
}
GREET_WORDS = {
    "你好", "您好", "hi", "hello", "hey", "在吗", "在么", "哈喽", "嗨", "谢谢", "谢谢你", "多谢",
    "感谢", "thanks", "thank you", "再见", "拜拜", "bye", "goodbye", "早上好", "晚上好", "下午好",
    "good morning", "good evening", "good afternoon", "哈罗", "nihao", "ni hao", "xiexie",
    "xie xie", "xiexie ni",
}


NEGATED = "handoff_negated"


def _handoff_rule(text: str) -> str | None:
    """Which handoff rule the text meets; NEGATED when it only says no person is needed."""
    negated = False
    for pattern, negation, name in ((HANDOFF_ZH, HANDOFF_NEGATION_ZH, "handoff_zh"),
                                    (HANDOFF_EN, HANDOFF_NEGATION_EN, "handoff_en")):
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 30):match.start()]
            if not negation.search(before):
                return name
            negated = True
    return NEGATED if negated else None
