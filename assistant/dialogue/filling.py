"""Filling in the joint form slot by slot: the subject chosen, prefilled answers skipped, each
missing answer asked, read and checked, an answer changed on request, or the draft cancelled."""
import re

from assistant import answers, slots
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from assistant.nlu import Understanding
from assistant.normalize import normalize
from common import crypto
from models.conversation import ConversationState
from models.user import Role
from services.catalogue import joint_form
from services.errors import NotFound
from services.identity import family_members

OTHER_INTENT_AT = 0.8  # in a form, a message this surely about something else is not an answer
EDIT_WORDS = re.compile(r"修改|更改|改一下|改成|改为|重新填|填错|写错|"
                        r"change|edit|correct|fix|wrong")
QUESTION = re.compile(r"[?？]|吗$|呢$|么$")
# A change of mind in the middle of the form: never an answer, whatever the field.
CHANGE_OF_MIND = re.compile(
    r"算了|先不办|不办了|不想办|不弄了|不填了|不申请了|以后再说|回头再说|改天再|下次再|"
    r"等.{0,12}再说|先问问|再考虑|考虑一下|\bnever ?mind\b|forget it|changed my mind|"
    r"\bnot now\b|(maybe |do it )?later\b|we'?ll wait|i'?ll wait|wait until|don'?t want to "
    r"(apply|do)|stop (the|this) application|come back (to it )?later")
# Another life event meant instead of the one being filled in ("我其实是要注销公司").
SWITCH = re.compile(r"其实|不是这个|不是要|搞错|弄错|换成|改办|\bactually\b|\binstead\b|wrong one")
# What a citizen says to ask or ask for something, rather than to give a name or an address.
NOT_AN_ANSWER = re.compile(
    r"[?？]|吗|么$|呢$|怎么|如何|为什么|什么|哪些|哪里|多久|多少|能不能|可不可以|是不是|要不要|"
    r"我想|我要|想要|帮我|请帮|给我|其实|不是|搞错|弄错|顺便|对了|另外|还有|请问|"
    r"\b(how|what|why|when|where|which|who|can|could|do|does|did|is|are|should|would|will|"
    r"i want|i need|please|help|actually|instead|wrong|by the way|also)\b")
PARENTHESES = re.compile(r"[(（][^)）]*[)）]")
NEW_VALUE = re.compile(r"(?:改成|改为|换成|应该是|应为|变成|\bto\b|[:：])\s*(.+)$", re.IGNORECASE)


class Filling(DialogueBase):
    """Choosing the subject and collecting the form's missing answers, one at a time."""

    def _reset_draft(self) -> None:
        conv = self.conv
        conv.state = ConversationState.IDLE.value
        conv.answers, conv.answers_protected, conv.queue = {}, {}, []
        conv.pending_field, conv.subject, conv.bundle_version = None, {}, None
        conv.pending = {}

    def start_application(self, code: str | None) -> Reply:
        if self.user.role != Role.CITIZEN:
            return Reply(self.t("Only citizens apply here.", "只有居民可以在这里申请。"))
        definition = self._known_bundle(code)
        if definition is None:
            return self.ask_bundle("apply")
        self._reset_draft()
        conv = self.conv
        conv.bundle, conv.bundle_version = code, definition["version"]
        conv.drafts = (conv.drafts or 0) + 1
        subject_paths = {f["prefill"] for f in definition["form"]
                         if (f.get("prefill") or "").startswith("subject.")}
        if not subject_paths:
            conv.subject = {"kind": "self"}
            return self.begin_form(definition)
        newborn_ok = {"subject.name", "subject.birth_date"} <= subject_paths
        if definition.get("life_event") == "birth" and newborn_ok:
            conv.subject = {"kind": "newborn"}
            return self.begin_form(definition)
        children = [m for m in family_members.family_of(str(self.user.id)) if m.relation == "child"]
        if not children:
            conv.subject = {"kind": "newborn"} if newborn_ok else {"kind": "self"}
            return self.begin_form(definition)
        conv.state = ConversationState.CHOOSING_SUBJECT.value
        choices = [self._choice(m.name, intent="subject", id=str(m.id), name=m.name)
                   for m in children]
        if newborn_ok:
            choices.append(self._choice(self.t("Another child", "其他孩子"), intent="subject",
                                        kind="newborn"))
        return Reply(self.t("Who is the application for?", "这次是为哪个孩子办理？"),
                     [self._offer(choices)])

    def choose_subject(self, u: Understanding, raw: str) -> Reply:
        if u.intent == "deny" and (u.decided or u.confidence >= OTHER_INTENT_AT):
            return self.cancel()
        picked = self._picked(raw)
        if picked is None:
            choices = self.conv.pending.get("choices") or []
            return Reply(self.t("Please pick one of the choices.", "请从选项中选择一个。"),
                         [self._offer(choices)])
        action = picked["action"]
        self.conv.subject = ({"kind": "family", "id": action["id"], "name": action["name"]}
                             if action.get("id") else {"kind": "newborn"})
        self._nlu("apply", self.conv.bundle, 1.0)
        return self.begin_form(self._definition(self.conv.bundle, self.conv.bundle_version))

    def _subject_member(self):
        subject = self.conv.subject or {}
        if subject.get("kind") != "family":
            return None
        try:
            return family_members.get_family_member(owner_id=str(self.user.id),
                                                    member_id=subject["id"])
        except NotFound:
            return None

    def _known(self) -> dict:
        return joint_form.known_values(
            applicant=self.account, subject_member=self._subject_member(),
            subject_is_applicant=(self.conv.subject or {}).get("kind") == "self")

    def begin_form(self, definition: dict) -> Reply:
        known = self._known()
        prefilled = [f for f in definition["form"]
                     if f.get("prefill") and known.get(f["prefill"]) not in (None, "")]
        asked = [f["name"] for f in definition["form"]
                 if f.get("required") and f not in prefilled]
        self.conv.queue = asked
        member = self._subject_member()
        intro = Reply(self.t(
            "Let's apply for {b}. {p} answers are filled in from what we already know; I need "
            "{n} more from you, one at a time. Say \"cancel\" at any point to stop.",
            "好的，开始办理{b}。已为您自动填好 {p} 项信息，还需要您回答 {n} 个问题，"
            "我会一个一个问。随时回复“取消”即可停止。",
            b=answers.title(answers.bundle_name(definition), self.locale),
            p=len(prefilled), n=len(asked)))
        on_file = self._on_file(definition, str(member.id) if member else None)
        intro = intro.add(answers.checklist(definition, on_file, self.locale))
        return intro.add(self.next_question(definition))

    def next_question(self, definition: dict) -> Reply:
        if not self.conv.queue:
            return self.summary(definition)
        name = self.conv.queue[0]
        field = next(f for f in definition["form"] if f["name"] == name)
        self.conv.state = ConversationState.COLLECTING.value
        self.conv.pending_field = name
        return self.question(field, definition)

    def question(self, field: dict, definition: dict) -> Reply:
        total = len([f for f in definition["form"] if f.get("required")])
        remaining = len(self.conv.queue)
        choices = [{"value": c, "label": (field.get("choice_labels") or {}).get(c) or c}
                   for c in field.get("choices") or []]
        hint = {
            "date": self.t(" (for example 2025-05-01)", "（例如 2025-05-01）"),
            "phone": self.t(" (11-digit mobile number)", "（11 位手机号码）"),
            "id_number": self.t(" (18-character resident ID number)", "（18 位公民身份号码）"),
        }.get(field.get("type"), "")
        if choices:
            hint = self.t(" ({c})", "（{c}）", c=" / ".join(c["label"] for c in choices))
        card = {"type": "question", "field": field["name"], "label": field["label"],
                "input": field.get("type") or "string", "required": bool(field.get("required")),
                "choices": choices, "pattern": field.get("pattern"),
                "progress": {"remaining": remaining, "total": total}}
        return Reply(self.t("{l}?{h}", "请提供{l}{h}", l=field["label"], h=hint), [card])

    def cancel(self) -> Reply:
        self._reset_draft()
        return Reply(self.t("Cancelled: nothing was submitted.", "已取消，没有提交任何申请。"))

    def switch(self, code: str, definition: dict) -> Reply:
        """Another life event meant: this draft is dropped (nothing submitted), that one
        explained, with the offer to apply for it."""
        self._reset_draft()
        self._nlu(self.nlu.get("intent") or "explore_bundle", code,
                  self.nlu.get("confidence") or 1.0)
        return Reply(self.t("All right, not {b}: nothing was submitted.",
                            "好的，不办{b}了，没有提交任何申请。",
                            b=answers.title(answers.bundle_name(definition), self.locale))
                     ).add(self.explore(code))

    def _is_cancel(self, u: Understanding, raw: str = "") -> bool:
        return (u.intent == "deny" and (u.decided or u.confidence >= OTHER_INTENT_AT)) or bool(
            raw and u.intent not in ("confirm", "apply") and CHANGE_OF_MIND.search(
                normalize(raw)))

    @staticmethod
    def reads_as_answer(u: Understanding, raw: str) -> bool:
        """A name, an address, a plain phrase: what a citizen types to answer a free-text
        question, even when it names a life event ("瑞安市阿强便利店", "塘下镇小学路8号")."""
        return u.rule is None and not NOT_AN_ANSWER.search(normalize(raw))

    def collect(self, u: Understanding, raw: str) -> Reply:
        """The citizen answers the question asked, cancels, or asks something else meanwhile."""
        if self._is_cancel(u, raw):
            self._nlu("deny", None, max(u.confidence, 0.5) if u.intent == "deny" else 1.0)
            return self.cancel()
        definition = self._definition(self.conv.bundle, self.conv.bundle_version)
        field = next((f for f in definition["form"] if f["name"] == self.conv.pending_field),
                     None)
        if field is None:  # the form changed under us: ask whatever is next
            self.conv.queue = [n for n in self.conv.queue if n != self.conv.pending_field]
            return self.next_question(definition)
        edited = self._inline_edit(raw, definition, pending=field)
        if edited is not None:
            return edited
        if (u.bundle and u.bundle != self.conv.bundle and u.intent not in ("deny", "confirm")
                and SWITCH.search(normalize(raw))):
            return self.switch(u.bundle, definition)
        elsewhere = (u.intent not in ("confirm", "apply", "deny") and
                     (u.confidence >= OTHER_INTENT_AT or u.rule == "exact"))
        free_text = (field.get("type") or "string") in ("string", "text") and not (
            field.get("pattern") or "").startswith((r"^\d", "^(["))
        if free_text and self.reads_as_answer(u, raw):
            elsewhere = False  # a shop's name answers the name question, not a new one
        elif free_text and (elsewhere or QUESTION.search(raw.strip()) or u.rule == "exact"
                            or NOT_AN_ANSWER.search(normalize(raw))):
            return self.aside(u, raw, field, definition)
        try:
            value = joint_form.check_value(field, slots.read_value(field, raw))
        except (slots.NotAnAnswer, ValueError) as exc:
            if elsewhere or (isinstance(exc, slots.NotAnAnswer) and u.confidence >= 0.5
                             and u.intent not in ("confirm", "apply", "deny")):
                return self.aside(u, raw, field, definition)
            problem = (self.t("Sorry, I did not get that.", "抱歉，我没能识别。")
                       if isinstance(exc, slots.NotAnAnswer) else str(exc))
            if u.intent == "confirm" and isinstance(exc, slots.NotAnAnswer):
                problem = self.t("A few answers are still missing ({n}).",
                                 "还差 {n} 项信息没有填写。", n=len(self.conv.queue))
            return Reply(problem).add(self.question(field, definition))
        self._store_answer(field, value)
        self._nlu("apply", self.conv.bundle, 1.0)
        return self.next_question(definition)

    def aside(self, u: Understanding, raw: str, field: dict, definition: dict) -> Reply:
        """Answer a question asked in the middle of the form, then ask again what was pending."""
        bundle = u.bundle or self.conv.bundle
        self._nlu(u.intent, bundle, u.confidence)
        if u.intent in ("explore_bundle", "ask_materials", "check_status", "faq"):
            reply = self._aside(u.intent, bundle, u, raw)  # may say what it answered instead
        elif u.intent == "handoff_human":
            return self.handoff(raw)
        elif u.intent == "greet_thanks":
            reply = Reply(self.t("You're welcome.", "不客气。"))
        else:
            reply = Reply(self.t("Let's finish the application first.", "我们先把申请填完。"))
        return reply.add(Reply(self.t("Back to the application:", "继续填写申请："))).add(
            self.question(field, definition))

    def _store_answer(self, field: dict, value) -> None:
        name = field["name"]
        if field.get("type") in joint_form.PERSONAL_TYPES:
            self.conv.answers_protected = {**(self.conv.answers_protected or {}),
                                           name: crypto.encrypt(str(value))}
            self.conv.answers = {k: v for k, v in (self.conv.answers or {}).items() if k != name}
        else:
            self.conv.answers = {**(self.conv.answers or {}), name: value}
        self.conv.queue = [n for n in self.conv.queue if n != name]

    def _form(self) -> dict:
        form = dict(self.conv.answers or {})
        for name, token in (self.conv.answers_protected or {}).items():
            form[name] = crypto.decrypt(token)
        return form

    def _field_named(self, raw: str, definition: dict) -> dict | None:
        """The form field a message names by its label ("把出生时间改成…", "change the bank")."""
        bare = normalize(raw)
        best, length = None, 0
        for field in definition["form"]:
            labels = [normalize(PARENTHESES.sub("", v)).strip() for v in
                      list((field.get("labels") or {}).values()) + [field["label"]]]
            labels.append(field["name"].replace("_", " "))
            for label in labels:
                if len(label) >= 2 and label in bare and len(label) > length:
                    best, length = field, len(label)
        return best

    def _inline_edit(self, raw: str, definition: dict, pending: dict | None = None
                     ) -> Reply | None:
        """"把出生时间改成8点10分": the named answer changed at once, else that field asked."""
        if not EDIT_WORDS.search(normalize(raw)):
            return None
        field = self._field_named(raw, definition)
        if field is None or (pending is not None and field["name"] == pending["name"]):
            return None
        value_text = NEW_VALUE.search(raw)
        if value_text:
            try:
                value = joint_form.check_value(field, slots.read_value(field,
                                                                       value_text.group(1)))
            except (slots.NotAnAnswer, ValueError):
                value_text = None
            else:
                self._store_answer(field, value)
                self._nlu("apply", self.conv.bundle, 1.0)
                done = Reply(self.t("Changed: {l}.", "已修改：{l}。", l=field["label"]))
                return done.add(self.next_question(definition))
        return self.edit(field["name"], definition)

    def edit(self, name: str, definition: dict | None = None) -> Reply:
        definition = definition or self._definition(self.conv.bundle, self.conv.bundle_version)
        self.conv.queue = [name] + [n for n in self.conv.queue or [] if n != name]
        self._nlu("apply", self.conv.bundle, 1.0)
        return self.next_question(definition)
