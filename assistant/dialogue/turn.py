"""One turn: the state and the understood message decide which state's turn answers it."""
from assistant import answers
from assistant.answers import Reply
from assistant.dialogue.confirming import Confirming
from assistant.dialogue.exploring import Exploring
from assistant.dialogue.filling import Filling
from assistant.dialogue.handoff import HandingOff
from assistant.dialogue.status import Status
from assistant.nlu import Understanding
from models.conversation import ConversationState

CLARIFY_BELOW = 0.4  # intent confidence under which a short clarifying question is asked
HANDOFF_AT = 0.6  # the rules catch every usual way to ask for a person; the model, the rest
FOLLOWS_CONTEXT = {"explore_bundle", "ask_materials", "apply", "faq"}


class Dialogue(Exploring, Filling, Confirming, Status, HandingOff):
    """One turn of one conversation. Mutates the conversation; the caller stores it."""

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

    def _aside(self, intent: str, bundle: str | None, u: Understanding, raw: str) -> Reply:
        """Answer something else without losing the application being filled in."""
        conv = self.conv
        saved = (conv.state, conv.pending, conv.bundle, conv.pending_field)
        reply = self.dispatch(intent, bundle, u, raw)
        conv.state, conv.pending, conv.bundle, conv.pending_field = saved
        return reply
