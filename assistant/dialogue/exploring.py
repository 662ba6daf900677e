"""Exploring and answering: a life event explained, its materials with what is on file, curated
answers, a greeting, and a short question with choices when the message is unclear."""
import re

from assistant import answers
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from assistant.nlu import Understanding
from assistant.normalize import normalize
from models.conversation import ConversationState

BUNDLE_INTENTS = {"explore_bundle", "ask_materials", "apply"}
THANKS_OR_BYE = re.compile(r"谢|感谢|辛苦|再见|拜拜|晚安|thank|thx|cheers|bye|appreciate|see you")


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
