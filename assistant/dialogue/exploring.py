"""Exploring and answering: a life event explained, its materials with what is on file, curated
answers, one matter of a life event, a greeting, and a short question with choices when the
message is unclear."""
import re

from assistant import answers, knowledge
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from assistant.nlu import Understanding
from assistant.normalize import normalize
from models.conversation import ConversationState

BUNDLE_INTENTS = {"explore_bundle", "ask_materials", "apply"}
THANKS_OR_BYE = re.compile(r"谢|感谢|辛苦|再见|拜拜|晚安|thank|thx|cheers|bye|appreciate|see you")
# A question about the citizen's own circumstances: only a person can answer it.
OWN_CASE = re.compile(r"纠纷|影响|违建|违章|罚款|处罚|被拒|驳回|不合格|特殊情况|万一|离婚|去世|"
                      r"dispute|affect|penalt|\bfined?\b|what if|special case|divorc|passed away")
ASKING = re.compile(r"[?？]|吗|么|呢|会不会|能不能|可不可以|是否|要不要|"
                    r"\b(can|will|would|does|do|is|are|should)\b")
HOW_LONG = re.compile(r"多久|多长时间|要几天|几天(能|可以|办)|"
                      r"什么时候(能|可以)?(好|办好|办完|完成)|how long|how many days|"
                      r"when will it be (done|ready|finished)")


class Exploring(DialogueBase):
    """Idle and choosing: what a life event is, what it needs, what the citizen meant."""

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
        self.confused = True
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

    def materials(self, code: str | None) -> Reply:
        definition = self._known_bundle(code)
        if definition is None:
            return self.ask_bundle("ask_materials")
        self.conv.bundle = code
        reply = answers.checklist(definition, self._on_file(definition), self.locale)
        return reply.add(self._next_steps(code, materials=False))

    def answer(self, intent: str, bundle: str | None, raw: str) -> Reply:
        """A question about a life event gets what it asks, before the overview or the checklist:
        a curated answer whose topic it names, the matter it names, a person for the citizen's
        own circumstances, how long it takes."""
        text = normalize(raw)
        entry = answers.faq().topic(raw)
        if entry is not None:
            self._nlu("faq", self.nlu.get("bundle"), self.nlu.get("confidence") or 1.0)
            return answers.faq_answer(entry, self.locale)
        matter = self.matter_named(text, bundle)
        if matter is not None:
            return self.explain_matter(*matter)
        if intent in ("explore_bundle", "faq") and OWN_CASE.search(text) and ASKING.search(text):
            return self.unknown_question()
        if HOW_LONG.search(text) and intent in ("explore_bundle", "faq"):
            definition = self._known_bundle(bundle)
            if definition is not None:
                self.conv.bundle = bundle
                return answers.how_long(definition, self.locale)
        if intent == "explore_bundle":
            return self.explore(bundle)
        if intent == "ask_materials":
            return self.materials(bundle)
        return self.answer_question(raw, bundle)

    def matter_named(self, text: str, bundle: str | None) -> tuple[dict, str] | None:
        """(bundle definition, matter code) of the matter a question names, in the bundle being
        talked about if it has it, else in the one bundle that does."""
        known = knowledge.matters()
        named = [code for code, info in known.items()
                 if any(term in text for term in info["terms"])]
        if not named:
            return None
        code = max(named, key=lambda c: max(len(t) for t in known[c]["terms"] if t in text))
        owners = known[code]["bundles"]
        chosen = bundle if bundle in owners else (self.conv.bundle if self.conv.bundle in owners
                                                  else owners[0])
        definition = self._known_bundle(chosen)
        return (definition, code) if definition is not None else None

    def explain_matter(self, definition: dict, code: str) -> Reply:
        """One matter of a life event explained (a question about it, whatever the classifier
        made of it, is exploring that life event)."""
        self.conv.bundle = definition["code"]
        intent = "faq" if self.nlu.get("intent") == "faq" else "explore_bundle"
        self._nlu(intent, definition["code"], self.nlu.get("confidence") or 1.0)
        reply = answers.matter_answer(definition, code, knowledge.matters()[code], self.locale)
        return reply.add(self._next_steps(definition["code"], materials=True))

    def answer_question(self, raw: str, bundle: str | None) -> Reply:
        entry, _ = answers.faq().match(raw)
        if entry is not None:
            return answers.faq_answer(entry, self.locale)
        definition = self._known_bundle(bundle)
        if definition is not None:
            return answers.explain_bundle(definition, self.locale)
        return self.unknown_question()

    def unknown_question(self) -> Reply:
        """No checked answer: a person is offered (a plain yes accepts)."""
        self.conv.state = ConversationState.CHOOSING.value
        self.confused = True
        choices = [self._choice(self.t("Talk to a person", "转人工"), intent="handoff_human"),
                   self._choice(self.t("About a life event", "了解一件事"),
                                intent="explore_bundle")]
        card = self._offer(choices)
        self.conv.pending = {**self.conv.pending, "kind": "offer",
                             "action": choices[0]["action"]}
        return Reply(self.t("I have no checked answer to that question. A member of staff can help:"
                            " shall I pass it on?",
                            "这个问题我没有核实过的答案，可以请工作人员帮您解答，需要转人工吗？"),
                     [card])

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
