"""The dialogue manager: from the conversation's state and one understood message, the next reply.

States (models.conversation.ConversationState): idle → (choosing) → collecting the joint form's
missing answers one at a time → confirming a summary → submitted only on an explicit yes.
A request for a person is honoured in every state. Facts come from assistant.answers.
"""
import logging
import re

from assistant import answers, knowledge, slots
from assistant.answers import Reply
from assistant.nlu import Understanding
from assistant.normalize import normalize
from common import crypto
from common.i18n import text
from models.conversation import Conversation, ConversationState
from models.handoff import Handoff, HandoffStatus
from models.user import Role, User
from services.catalogue import joint_form, publishing
from services.errors import DomainError, NotFound, ValidationFailed
from services.identity import family_members
from services.materials import vault
from services.workflow import applications, submission

log = logging.getLogger(__name__)

CLARIFY_BELOW = 0.4  # intent confidence under which a short clarifying question is asked
CONFIRM_AT = 0.5  # a classified "yes" this sure submits a confirmed summary
HANDOFF_AT = 0.6  # the rules catch every usual way to ask for a person; the model, the rest
OTHER_INTENT_AT = 0.8  # in a form, a message this surely about something else is not an answer
BUNDLE_INTENTS = {"explore_bundle", "ask_materials", "apply"}
FOLLOWS_CONTEXT = {"explore_bundle", "ask_materials", "apply", "faq"}
EDIT_WORDS = re.compile(r"修改|更改|改一下|改成|改为|重新填|填错|写错|"
                        r"change|edit|correct|fix|wrong")
QUESTION = re.compile(r"[?？]|吗$|呢$|么$")
PARENTHESES = re.compile(r"[(（][^)）]*[)）]")
NEW_VALUE = re.compile(r"(?:改成|改为|换成|应该是|应为|变成|\bto\b|[:：])\s*(.+)$", re.IGNORECASE)
THANKS_OR_BYE = re.compile(r"谢|感谢|辛苦|再见|拜拜|晚安|thank|thx|cheers|bye|appreciate|see you")


class Dialogue:
    """One turn of one conversation. Mutates the conversation; the caller stores it."""

    def __init__(self, conversation: Conversation, user, locale: str):
        self.conv = conversation
        self.user = user  # who is talking: anything with `id` and `role` (a Principal)
        self.locale = locale
        self.nlu: dict = {}
        self._account: User | None = None

    @property
    def account(self) -> User:
        """The citizen's account, read only by the turns that need it (prefills)."""
        if self._account is None:
            self._account = self.user if isinstance(self.user, User) else User.objects(
                id=str(self.user.id)).first()
        return self._account

    # ── helpers ────────────────────────────────────────────────────────────────────────────

    def t(self, en: str, zh: str, **params) -> str:
        return text(en, zh, locale=self.locale, **params)

    def _nlu(self, intent: str, bundle: str | None, confidence: float) -> None:
        self.nlu = {"intent": intent, "bundle": bundle, "confidence": round(float(confidence), 3)}

    def _bundle_names(self) -> dict[str, str]:
        return knowledge.bundle_names(self.locale)

    def _definition(self, code: str, version: int | None = None) -> dict:
        return knowledge.definition(code, self.locale, version)

    def _aside(self, intent: str, bundle: str | None, u: Understanding, raw: str) -> Reply:
        """Answer something else without losing the application being filled in."""
        conv = self.conv
        saved = (conv.state, conv.pending, conv.bundle, conv.pending_field)
        reply = self.dispatch(intent, bundle, u, raw)
        conv.state, conv.pending, conv.bundle, conv.pending_field = saved
        return reply

    def _offer(self, choices: list[dict], kind: str = "choices") -> dict:
        """Remember what the reply offers, so "1", a label or the button's value picks it."""
        self.conv.pending = {"kind": kind, "choices": choices}
        return {"type": "choices" if kind == "choices" else "buttons",
                ("choices" if kind == "choices" else "buttons"): [
                    {"label": c["label"], "value": c["value"],
                     **({"action": c["action"].get("do") or c["action"].get("intent")}
                        if kind != "choices" else {})} for c in choices]}

    def _choice(self, label: str, value: str | None = None, **action) -> dict:
        return {"label": label, "value": value or label, "action": action}

    def _picked(self, raw: str) -> dict | None:
        choices = (self.conv.pending or {}).get("choices") or []
        if not choices:
            return None
        index = slots.choice_index(raw, len(choices))
        if index is not None:
            return choices[index]
        bare = normalize(raw).strip(" .。!！")
        for choice in choices:
            if bare in {normalize(choice["value"]), normalize(choice["label"])}:
                return choice
        return None

    def _bundle_choices(self, intent: str) -> list[dict]:
        make = {
            "explore_bundle": ("About: {n}", "了解{n}"),
            "ask_materials": ("Materials for: {n}", "{n}的材料"),
            "apply": ("Apply for: {n}", "办理{n}"),
        }[intent]
        return [self._choice(self.t(*make, n=name), intent=intent, bundle=code)
                for code, name in self._bundle_names().items()]

    # ── the turn ───────────────────────────────────────────────────────────────────────────

    def respond(self, u: Understanding, raw: str) -> Reply:
        conv = self.conv
        bundle = u.bundle or (conv.bundle if u.intent in FOLLOWS_CONTEXT else None)
        self._nlu(u.intent, bundle, u.confidence)

        state = conv.state
        if u.intent == "handoff_human" and (u.decided or (
                u.confidence >= HANDOFF_AT and state != ConversationState.COLLECTING)):
            return self.handoff(raw)

        if state in (ConversationState.CHOOSING, ConversationState.IDLE):
            picked = self._picked(raw)
            if picked is not None:
                return self.act(picked["action"], u)
        if state == ConversationState.CHOOSING:
            conv.state = ConversationState.IDLE.value
        if state == ConversationState.CHOOSING_SUBJECT:
            return self.choose_subject(u, raw)
        if state == ConversationState.COLLECTING:
            return self.collect(u, raw)
        if state == ConversationState.CONFIRMING:
            return self.confirming(u, raw)

        pending = conv.pending or {}
        if u.intent == "confirm" and pending.get("kind") == "offer":
            return self.act(pending["action"], u)
        if u.intent == "confirm" and pending.get("kind") == "submitted":
            return self.already_submitted(pending["application_id"])
        conv.pending = {}
        if not u.decided and u.confidence < CLARIFY_BELOW:
            return self.clarify(u)
        return self.dispatch(u.intent, bundle, u, raw)

    def act(self, action: dict, u: Understanding) -> Reply:
        """Carry out what a picked choice or an accepted offer stands for."""
        self.conv.pending = {}
        if self.conv.state == ConversationState.CHOOSING:
            self.conv.state = ConversationState.IDLE.value
        do = action.get("do")
        if do == "edit":
            return self.edit(action["field"])
        if do == "faq":
            entry = answers.faq().entries.get(action.get("faq"))
            self._nlu("faq", None, 1.0)
            return answers.faq_answer(entry, self.locale) if entry else self.unknown_question()
        intent, bundle = action.get("intent"), action.get("bundle")
        self._nlu(intent, bundle, 1.0)
        return self.dispatch(intent, bundle, u, "")

    def dispatch(self, intent: str, bundle: str | None, u: Understanding, raw: str) -> Reply:
        if intent == "explore_bundle":
            return self.explore(bundle)
        if intent == "ask_materials":
            return self.materials(bundle)
        if intent == "apply":
            return self.start_application(bundle)
        if intent == "check_status":
            return self.status(u.bundle if raw else bundle, u.application_id)
        if intent == "faq":
            return self.answer_question(raw, bundle)
        if intent == "greet_thanks":
            return self.greet(raw)
        if intent == "confirm":
            return Reply(self.t("All right. What can I do for you?", "好的。还有什么可以帮您？"))
        if intent == "deny":
            return Reply(self.t("All right, nothing was done. Ask me whenever you need.",
                                "好的，什么也没有办理。需要时随时找我。"))
        if intent == "handoff_human":
            return self.handoff(raw)
        return self.out_of_scope()

    # ── clarifying ─────────────────────────────────────────────────────────────────────────

    def clarify(self, u: Understanding) -> Reply:
        """Not sure: a short question with the likeliest readings as choices, and a person."""
        self.conv.state = ConversationState.CHOOSING.value
        names = self._bundle_names()
        choices: list[dict] = []
        for intent, _ in u.intents:
            if len(choices) >= 3:
                break
            if intent in BUNDLE_INTENTS and u.bundle:
                make = {"explore_bundle": ("About: {n}", "了解{n}"),
                        "ask_materials": ("Materials for: {n}", "{n}需要的材料"),
                        "apply": ("Apply for: {n}", "办理{n}")}[intent]
                choices.append(self._choice(self.t(*make, n=names.get(u.bundle, u.bundle)),
                                            intent=intent, bundle=u.bundle))
            elif intent == "check_status":
                choices.append(self._choice(self.t("Where my applications stand", "查询办件进度"),
                                            intent="check_status"))
            elif intent == "faq":
                entry, _ = answers.faq().match(u.text)
                if entry:
                    question = (entry["questions"].get(self.locale) or
                                next(iter(entry["questions"].values())))[0]
                    choices.append(self._choice(question, do="faq", faq=entry["id"]))
        if not choices:
            choices = [self._choice(self.t("About a life event", "了解一件事"),
                                    intent="explore_bundle"),
                       self._choice(self.t("Where my applications stand", "查询办件进度"),
                                    intent="check_status")]
        choices.append(self._choice(self.t("Talk to a person", "转人工"), intent="handoff_human"))
        self._nlu(u.intent, u.bundle, u.confidence)
        return Reply(self.t("Sorry, I am not sure I understood. Do you mean:",
                            "抱歉，我不太确定您的意思，您是想："), [self._offer(choices)])

    def ask_bundle(self, intent: str) -> Reply:
        self.conv.state = ConversationState.CHOOSING.value
        question = {
            "explore_bundle": ("Which life event is it about?", "您想了解哪件事？"),
            "ask_materials": ("The materials for which one?", "您想看哪件事的材料？"),
            "apply": ("What would you like to apply for?", "您想办理哪件事？"),
        }[intent]
        return Reply(self.t(*question), [self._offer(self._bundle_choices(intent))])

    # ── the catalogue ──────────────────────────────────────────────────────────────────────

    def _known_bundle(self, code: str | None) -> dict | None:
        if not code:
            return None
        try:
            return knowledge.definition(code, self.locale)
        except NotFound:
            return None

    def explore(self, code: str | None) -> Reply:
        definition = self._known_bundle(code)
        if definition is None:
            return self.ask_bundle("explore_bundle")
        self.conv.bundle = code
        reply = answers.explain_bundle(definition, self.locale)
        return reply.add(self._next_steps(code, materials=True))

    def _next_steps(self, code: str, *, materials: bool) -> Reply:
        buttons = [self._choice(self.t("Apply now", "立即办理"), do=None, intent="apply",
                                bundle=code)]
        if materials:
            buttons.append(self._choice(self.t("Materials needed", "需要哪些材料"),
                                        intent="ask_materials", bundle=code))
        card = self._offer(buttons, kind="buttons")
        # A plain "yes" accepts the first offer.
        self.conv.pending = {"kind": "offer", "action": buttons[0]["action"], "choices": buttons}
        return Reply(self.t("Shall I start the application?", "需要现在帮您办理吗？"), [card])

    def _on_file(self, definition: dict, subject_id: str | None = None) -> dict[str, str]:
        types = [m["code"] for m in publishing.materials_to_give(definition)]
        return vault.on_file(owner_id=str(self.user.id), types=types, subject_id=subject_id)

    def materials(self, code: str | None) -> Reply:
        definition = self._known_bundle(code)
        if definition is None:
            return self.ask_bundle("ask_materials")
        self.conv.bundle = code
        reply = answers.checklist(definition, self._on_file(definition), self.locale)
        return reply.add(self._next_steps(code, materials=False))

    # ── questions ──────────────────────────────────────────────────────────────────────────

    def answer_question(self, raw: str, bundle: str | None) -> Reply:
        entry, _ = answers.faq().match(raw)
        if entry is not None:
            return answers.faq_answer(entry, self.locale)
        definition = self._known_bundle(bundle)
        if definition is not None:
            return answers.explain_bundle(definition, self.locale)
        return self.unknown_question()

    def unknown_question(self) -> Reply:
        self.conv.state = ConversationState.CHOOSING.value
        choices = [self._choice(self.t("Talk to a person", "转人工"), intent="handoff_human"),
                   self._choice(self.t("About a life event", "了解一件事"),
                                intent="explore_bundle")]
        return Reply(self.t("I have no checked answer to that question. A member of staff can help:"
                            " shall I pass it on?",
                            "这个问题我没有核实过的答案，可以请工作人员帮您解答，需要转人工吗？"),
                     [self._offer(choices)])

    def greet(self, raw: str) -> Reply:
        if THANKS_OR_BYE.search(normalize(raw)):
            return Reply(self.t("You're welcome! Ask me any time.", "不客气！有需要随时找我。"))
        names = self._bundle_names()
        self.conv.state = ConversationState.CHOOSING.value
        choices = self._bundle_choices("explore_bundle") + [self._choice(
            self.t("Where my applications stand", "查询办件进度"), intent="check_status")]
        return Reply(self.t("Hello! Tell me what happened in your life and I will get the "
                            "paperwork done in one go: {b}. I can also tell you where your "
                            "applications stand.",
                            "您好！告诉我您遇到的事，我帮您一次办好：{b}。也可以帮您查询办件进度。",
                            b=self.t(", ", "、").join(names.values())), [self._offer(choices)])

    def out_of_scope(self) -> Reply:
        names = self._bundle_names()
        self.conv.state = ConversationState.CHOOSING.value
        choices = self._bundle_choices("explore_bundle")[:4] + [
            self._choice(self.t("Where my applications stand", "查询办件进度"),
                         intent="check_status"),
            self._choice(self.t("Talk to a person", "转人工"), intent="handoff_human")]
        return Reply(self.t("Sorry, I can't help with that. I can help with these life events: "
                            "{b}; and tell you where your applications stand.",
                            "抱歉，这个我帮不上忙。我可以帮您办理这些“一件事”：{b}；也可以查询办件进度。",
                            b=self.t(", ", "、").join(names.values())), [self._offer(choices)])

    # ── status ─────────────────────────────────────────────────────────────────────────────

    def status(self, bundle: str | None, application_id: str | None) -> Reply:
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
        open_first = sorted(found, key=lambda a: a.status not in ("in_progress",
                                                                  "needs_supplement"))
        shown = open_first[:answers.STATUS_LIMIT]
        reply = Reply("")
        for application in shown:
            reply = reply.add(answers.explain_status(applications.citizen_view(application),
                                                     self.locale))
        if len(found) > len(shown):
            reply = reply.add(Reply(self.t("{n} more in My applications.",
                                           "另有 {n} 件可在“我的办件”中查看。",
                                           n=len(found) - len(shown))))
        return reply

    # ── applying ───────────────────────────────────────────────────────────────────────────

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

    def _is_cancel(self, u: Understanding) -> bool:
        return u.intent == "deny" and (u.decided or u.confidence >= OTHER_INTENT_AT)

    def collect(self, u: Understanding, raw: str) -> Reply:
        """The citizen answers the question asked, cancels, or asks something else meanwhile."""
        if self._is_cancel(u):
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
        elsewhere = (u.intent not in ("confirm", "apply", "deny") and
                     (u.confidence >= OTHER_INTENT_AT or u.rule == "exact"))
        free_text = (field.get("type") or "string") in ("string", "text") and not (
            field.get("pattern") or "").startswith((r"^\d", "^(["))
        if free_text and (elsewhere or QUESTION.search(raw.strip()) or u.rule == "exact"):
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
        if u.intent in ("explore_bundle", "ask_materials", "check_status", "faq"):
            reply = self._aside(u.intent, bundle, u, raw)
        elif u.intent == "handoff_human":
            return self.handoff(raw)
        elif u.intent == "greet_thanks":
            reply = Reply(self.t("You're welcome.", "不客气。"))
        else:
            reply = Reply(self.t("Let's finish the application first.", "我们先把申请填完。"))
        self._nlu(u.intent, bundle, u.confidence)
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

    def summary(self, definition: dict) -> Reply:
        """Everything that will be sent, masked where private; only an explicit yes submits."""
        known = self._known()
        answers_given = self._form()
        rows = []
        for field in definition["form"]:
            value = known.get(field.get("prefill")) if field.get("prefill") else None
            prefilled = value not in (None, "")
            if not prefilled:
                value = answers_given.get(field["name"])
            if value in (None, ""):
                continue
            if field.get("type") == "choice":
                value = (field.get("choice_labels") or {}).get(value) or value
            if field.get("type") in joint_form.PERSONAL_TYPES:
                value = joint_form.mask(field["type"], str(value))
            elif isinstance(value, str):
                value = slots.mask_private(value)  # an account number is nobody else's business
            rows.append({"name": field["name"], "label": field["label"], "value": value,
                         "prefilled": prefilled})
        member = self._subject_member()
        on_file = self._on_file(definition, str(member.id) if member else None)
        missing = [m.get("name") or m["code"] for m in publishing.materials_to_give(definition)
                   if m["code"] not in on_file]
        self.conv.state = ConversationState.CONFIRMING.value
        self.conv.pending_field = None
        subject = self.conv.subject or {}
        card = {"type": "summary", "bundle": definition["code"],
                "bundle_name": answers.bundle_name(definition),
                "subject": {"kind": subject.get("kind"), "name": subject.get("name")},
                "fields": rows, "materials_missing": missing}
        lines = "\n".join(f"· {r['label']}：{r['value']}" if self.locale == "zh-CN" else
                          f"· {r['label']}: {r['value']}" for r in rows)
        if missing:
            buttons = [self._choice(self.t("I have uploaded them", "我已上传，继续"),
                                    do="confirm", intent="confirm"),
                       self._choice(self.t("Cancel", "取消"), do="cancel", intent="deny")]
            return Reply(self.t("Here is your application for {b}:\n{l}\nBefore it can be "
                                "submitted, please upload: {m}. Then tell me to continue.",
                                "这是您的{b}申请：\n{l}\n提交前还需要上传：{m}。上传后告诉我“继续”。",
                                b=answers.title(answers.bundle_name(definition), self.locale),
                                l=lines, m=self.t(", ", "、").join(missing)),
                         [card, self._offer(buttons, kind="buttons")])
        buttons = [self._choice(self.t("Confirm and submit", "确认提交"), do="confirm",
                                intent="confirm"),
                   self._choice(self.t("Cancel", "取消"), do="cancel", intent="deny")]
        return Reply(self.t("Please check your application for {b}:\n{l}\nShall I submit it? "
                            "Reply \"confirm\" to submit, or tell me what to change.",
                            "请核对您的{b}申请：\n{l}\n确认无误请回复“确认提交”，需要修改请告诉我改哪一项。",
                            b=answers.title(answers.bundle_name(definition), self.locale),
                            l=lines),
                     [card, self._offer(buttons, kind="buttons")])

    def confirming(self, u: Understanding, raw: str) -> Reply:
        picked = self._picked(raw)
        action = (picked or {}).get("action") or {}
        if action.get("do") == "confirm" or (u.intent == "confirm" and (
                u.decided or u.confidence >= CONFIRM_AT)):
            return self.submit()
        if action.get("do") == "cancel" or self._is_cancel(u):
            return self.cancel()
        definition = self._definition(self.conv.bundle, self.conv.bundle_version)
        if action.get("do") == "edit":
            return self.edit(action["field"], definition)
        edited = self._inline_edit(raw, definition)
        if edited is not None:
            return edited
        if EDIT_WORDS.search(normalize(raw)) or u.intent == "deny":
            choices = [self._choice(f["label"], do="edit", field=f["name"])
                       for f in definition["form"] if f["name"] in (self.conv.answers or {})
                       or f["name"] in (self.conv.answers_protected or {})]
            if choices:  # still confirming: a pick edits, a yes still submits
                return Reply(self.t("Which answer should I change?", "您要修改哪一项？"),
                             [self._offer(choices)])
        reply = self._aside(u.intent, u.bundle or self.conv.bundle, u, raw) \
            if u.intent in ("explore_bundle", "ask_materials", "check_status", "faq") else Reply(
                self.t("The application is not submitted yet.", "申请还没有提交。"))
        return reply.add(self.summary(definition))

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

    def submit(self) -> Reply:
        """Submit through the workflow, once per draft: a retried yes finds the same application."""
        conv = self.conv
        definition = self._definition(conv.bundle, conv.bundle_version)
        key = f"assistant-{conv.id}-{conv.drafts}"
        self._nlu("confirm", conv.bundle, self.nlu.get("confidence") or 1.0)
        try:
            application = submission.submit_application(
                applicant_id=str(self.user.id), bundle=conv.bundle, subject=conv.subject,
                form=self._form(), materials=[], idempotency_key=key, channel="assistant")
        except ValidationFailed as exc:
            return self._not_submitted(exc, definition)
        except DomainError as exc:
            return Reply(self.t("It could not be submitted: {m}", "未能提交：{m}", m=exc.message))
        self._reset_draft()
        conv.application_id = str(application.id)
        conv.pending = {"kind": "submitted", "application_id": str(application.id)}
        conv.bundle = application.bundle
        done = Reply(self.t("Submitted! Your application number is {id}. Each department "
                            "picks it up in turn and I will tell you as each finishes; ask me "
                            "\"where is it\" any time.",
                            "已提交！办件编号 {id}。各部门会依次办理，每个部门办结都会通知您，"
                            "也可以随时问我“办到哪了”。", id=str(application.id)))
        return done.add(answers.explain_status(applications.citizen_view(application),
                                               self.locale))

    def already_submitted(self, application_id: str) -> Reply:
        """A yes repeated after submitting (a retried request) never applies twice."""
        self._nlu("confirm", self.conv.bundle, 1.0)
        reply = Reply(self.t("This application is already submitted ({id}).",
                             "这份申请已经提交过了（办件编号 {id}）。", id=application_id))
        try:
            application = applications.get_for_citizen(application_id=application_id,
                                                       citizen=self.user)
        except NotFound:
            return reply
        return reply.add(answers.explain_status(applications.citizen_view(application),
                                                self.locale))

    def _not_submitted(self, exc: ValidationFailed, definition: dict) -> Reply:
        fields = [k.split(".", 1)[1] for k in exc.errors if k.startswith("form.")]
        messages = [m for values in exc.errors.values() for m in values] or [exc.message]
        reply = Reply(self.t("It could not be submitted yet: {m}", "暂时无法提交：{m}",
                             m=" ".join(messages)))
        if fields:
            known_fields = {f["name"] for f in definition["form"]}
            self.conv.queue = [f for f in fields if f in known_fields] + [
                n for n in self.conv.queue or [] if n not in fields]
            return reply.add(self.next_question(definition))
        if "subject" in exc.errors:
            self._reset_draft()
            return reply
        return reply.add(self.summary(definition))

    # ── a person ───────────────────────────────────────────────────────────────────────────

    def handoff(self, raw: str) -> Reply:
        """Always honoured: a handoff record staff can see, and the citizen is told so."""
        conv = self.conv
        self._nlu("handoff_human", self.nlu.get("bundle"), 1.0)
        existing = Handoff.objects(conversation=str(conv.id), status__in=[
            HandoffStatus.OPEN.value, HandoffStatus.CLAIMED.value]).first()
        if existing is None:
            departments = []
            definition = self._known_bundle(conv.bundle)
            if definition is not None:
                departments = [d["code"] for d in definition["departments"]]
            existing = Handoff(conversation=str(conv.id), citizen=str(self.user.id),
                               bundle=conv.bundle, departments=departments, locale=self.locale,
                               reason=slots.mask_private(raw)[:500]).save()
            log.info("conversation %s handed off to staff (%s)", conv.id, existing.id)
        conv.handoff_id = str(existing.id)
        reply = Reply(self.t("I have passed your conversation to our staff (reference {id}). A "
                             "member of staff will get back to you as soon as possible.",
                             "已为您转接人工服务（编号 {id}），工作人员会尽快联系您。",
                             id=str(existing.id)),
                      [{"type": "handoff", "handoff_id": str(existing.id),
                        "status": existing.status}])
        if conv.state == ConversationState.COLLECTING and conv.pending_field:
            definition = self._definition(conv.bundle, conv.bundle_version)
            field = next((f for f in definition["form"] if f["name"] == conv.pending_field),
                         None)
            if field is not None:
                reply = reply.add(Reply(self.t("Meanwhile, your application is kept:",
                                               "您的申请会为您保留，可以继续填写："))).add(
                    self.question(field, definition))
        elif conv.state == ConversationState.CONFIRMING:
            reply = reply.add(Reply(self.t("Your application is not submitted until you confirm.",
                                           "您的申请在您确认之前不会提交。")))
        return reply
