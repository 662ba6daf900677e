"""Where the citizen's applications stand: only their own, the open ones first; a follow-up
("医保那个怎么还没开始办？", "上牌那个呢") answered about the matter or life event it names; a
rejected application handed to a person to explain."""
import re

from assistant import answers, knowledge
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from assistant.normalize import normalize
from models.conversation import WITH_THE_DESK
from models.handoff import Handoff
from services.desk.queue import REJECTED_APPLICATION
from services.errors import NotFound
from services.workflow import applications

OPEN = ("in_progress", "needs_supplement")
# Words that ask where something stands, in any phrasing the classifier may be unsure of.
STATUS_CUES = re.compile(
    r"还没|怎么还|为什么|为啥|咋还|多久|多长时间|什么时候|到哪|进度|卡住|卡在|等什么|在等|还要等|"
    r"一直|好了没|办好了吗|没动静|没开始|太慢|那个呢|的呢|那边呢|"
    r"\bwhy\b|how long|\bwhen\b|\bstill\b|waiting|wait for|stuck|status|progress|\byet\b|"
    r"taking so long|what about")
# Two characters that name nothing in particular: not enough to say which matter is meant.
GENERIC = {"注销", "登记", "办理", "申请", "证明", "出生", "宝宝", "新生", "事项", "信息", "核验",
           "许可", "缴纳", "领取", "首次", "什么", "怎么", "还没", "开始", "多久", "那个", "这个",
           "一件", "部门", "服务", "中心", "社会", "管理", "城乡", "居民", "基本", "发放", "办结"}
ENGLISH_STOP = {"what", "when", "that", "this", "with", "from", "about", "still", "have",
                "does", "long", "taking", "waiting", "started", "start", "registration",
                "certificate", "application", "the", "and", "for"}


def _common(a: str, b: str) -> int:
    """The length of the longest common run of characters of two short texts."""
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            if k > best and not (k == 2 and a[i:i + 2] in GENERIC):
                best = k
    return best


def _score(text: str, terms: list[str]) -> int:
    words = {w for w in re.findall(r"[a-z]{4,}", text) if w not in ENGLISH_STOP}
    score = 0
    for term in terms:
        if term in text:
            score = max(score, 2 * len(term))
        elif re.search(r"[a-z]", term):
            shared = words & set(re.findall(r"[a-z]{4,}", term))
            score = max(score, 3 * len(shared))
        else:
            common = _common(text, term)
            score = max(score, common if common >= 2 else 0)
    return score


class Status(DialogueBase):
    """Where applications stand, in any state."""

    def status(self, bundle: str | None, application_id: str | None,
               focus: tuple[str, ...] = ()) -> Reply:
        if application_id:
            try:
                found = [applications.get_for_citizen(application_id=application_id,
                                                      citizen=self.user)]
            except NotFound:  # someone else's looks exactly like one that does not exist
                return Reply(self.t("I found no application {id} of yours.",
                                    "没有找到您的办件 {id}。", id=application_id))
        else:
            found = applications.list_for_citizen(citizen=self.user)
            if bundle:
                found = [a for a in found if a.bundle == bundle]
        if not found:
            if bundle:
                names = self._bundle_names()
                self.conv.pending = {"kind": "offer", "action": {"intent": "apply",
                                                                 "bundle": bundle}}
                return Reply(self.t("You have no application for {b} yet. Shall I start one?",
                                    "您还没有{b}的办件。需要现在帮您办理吗？",
                                    b=answers.title(names.get(bundle, bundle), self.locale)))
            return Reply(self.t("You have no applications yet.", "您还没有办件。"))
        open_first = sorted(found, key=lambda a: a.status not in OPEN)
        shown = open_first[:answers.STATUS_LIMIT]
        reply = Reply("")
        for application in shown:
            part = answers.explain_status(applications.citizen_view(application), self.locale)
            focused = answers.focus_status(part.cards[0], list(focus), self.locale) \
                if focus else ""
            reply = reply.add(Reply(focused + "\n" + part.text, part.cards) if focused
                              else part)
        if len(found) > len(shown):
            reply = reply.add(Reply(self.t("{n} more in My applications.",
                                           "另有 {n} 件可在“我的办件”中查看。",
                                           n=len(found) - len(shown))))
        self.conv.pending = {"kind": "status"}
        return self._explain_rejection(shown, reply)

    def _explain_rejection(self, shown: list, reply: Reply) -> Reply:
        """A citizen asking about a rejected application is handed to a person who can explain
        it (once per application)."""
        if self.conv.status in WITH_THE_DESK:
            return reply
        rejected = next((a for a in shown if a.status == "rejected"
                         and not Handoff.objects(application=str(a.id)).first()), None)
        if rejected is None:
            return reply
        return reply.add(self.handoff(getattr(self, "raw", ""), reason=REJECTED_APPLICATION,
                                      application_id=str(rejected.id)))

    def status_follow_up(self, u, raw: str, *, after_status: bool) -> Reply | None:
        """A question about where things stand that the classifier is unsure of, or that names
        a matter or a life event of the citizen's applications: answered from them."""
        if u.intent in ("handoff_human", "confirm", "deny", "greet_thanks", "apply"):
            return None
        text = normalize(raw)
        cue = bool(STATUS_CUES.search(text))
        if not (cue or after_status):
            return None
        found = applications.list_for_citizen(citizen=self.user)
        if not found:
            return None
        considered = [a for a in found if a.status in OPEN] or found
        bundle = u.bundle if u.bundle in {a.bundle for a in found} else None
        focus = self._matters_named(text, considered if not bundle else
                                    [a for a in found if a.bundle == bundle])
        if not (bundle or focus or (after_status and cue) or
                (cue and u.intent == "check_status")):
            return None
        if bundle is None and focus:
            owners = {a.bundle for a in considered if any(t.matter in focus for t in a.tasks)}
            bundle = owners.pop() if len(owners) == 1 else None
        self._nlu("check_status", bundle, max(u.confidence, 0.5))
        return self.status(bundle, None, tuple(focus))

    def _matters_named(self, text: str, found: list) -> list[str]:
        """The matters of these applications the text names best (by name, synonym or
        department; two characters in common are enough: "医保" names 医保参保)."""
        known = knowledge.matters()
        scores: dict[str, int] = {}
        for application in found:
            for task in application.tasks:
                info = known.get(task.matter) or {}
                terms = [normalize(str(n)) for n in list((task.name or {}).values())
                         + list((task.department_name or {}).values())
                         + list(info.get("synonyms") or [])]
                scores[task.matter] = max(scores.get(task.matter, 0), _score(text, terms))
        best = max(scores.values(), default=0)
        return [m for m, s in scores.items() if s == best] if best >= 2 else []
