"""One turn: the state and the understood message decide which state's turn answers it."""
import hashlib
import re

from assistant import answers
from assistant.answers import Reply
from assistant.dialogue.confirming import Confirming
from assistant.dialogue.exploring import Exploring
from assistant.dialogue.filling import Filling
from assistant.dialogue.handoff import HandingOff
from assistant.dialogue.status import Status
from assistant.nlu import Understanding
from assistant.normalize import normalize
from models.conversation import WITH_THE_DESK, ConversationState
from services.desk.queue import NOT_UNDERSTOOD

CLARIFY_BELOW = 0.4  # intent confidence under which a short clarifying question is asked
HANDOFF_AT = 0.6  # the rules catch every usual way to ask for a person; the model, the rest
FOLLOWS_CONTEXT = {"explore_bundle", "ask_materials", "apply", "faq"}
ANSWERS = {"explore_bundle", "ask_materials", "faq"}
MISUNDERSTOOD_LIMIT = 2  # replies in a row that did not understand: then a person takes over
# An explicit request to apply, whatever else the message tells ("…，帮我申请一下").
APPLY_REQUEST = re.compile(
    r"(帮我|给我|替我|请|麻烦)(把.{0,12})?(申请|报名|报个名|办理一下|办一下|办了|登记一下)|"
    r"我要申请|申请一下|\b(start|begin) (the|an|my) application\b|\bapply for (it|this|that)\b|"
    r"\bsign (me|us) up\b")
QUESTION = re.compile(r"[?？]|吗|怎么|如何|\b(how|what|can i|do i)\b")


def digest(text: str) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


class Dialogue(Exploring, Filling, Confirming, Status, HandingOff):
    """One turn of one conversation. Mutates the conversation; the caller stores it."""

    def respond(self, u: Understanding, raw: str) -> Reply:
        self.confused = False  # set by a reply that did not understand the citizen
        self.raw = raw
        reply = self._not_twice(self._respond(u, raw), raw)
        conv = self.conv
        if conv.status in WITH_THE_DESK:
            return reply  # handed over in this turn
        if not self.confused:
            conv.misunderstood = 0
            return reply
        conv.misunderstood = (conv.misunderstood or 0) + 1
        if conv.misunderstood < MISUNDERSTOOD_LIMIT:
            return reply
        if conv.state == ConversationState.CHOOSING:
            conv.state, conv.pending = ConversationState.IDLE.value, {}
        return self.handoff(raw, reason=NOT_UNDERSTOOD)

    def _not_twice(self, reply: Reply, raw: str) -> Reply:
        """The same answer to a new question helps nobody: say so and offer what else there is."""
        said = digest(reply.text)
        if (said and said == self.conv.last_reply and raw
                and self.nlu.get("intent") in ANSWERS
                and not any(c.get("type") in ("status", "question", "summary")
                            for c in reply.cards)):
            reply = self.said_already(self.conv.bundle)
            said = digest(reply.text)
        self.conv.last_reply = said
        return reply

    def said_already(self, bundle: str | None) -> Reply:
        self.confused = True
        self.conv.state = ConversationState.CHOOSING.value
        choices = []
        if self._known_bundle(bundle) is not None:
            choices += [self._choice(self.t("Materials needed", "需要哪些材料"),
                                     intent="ask_materials", bundle=bundle),
                        self._choice(self.t("Apply now", "立即办理"), intent="apply",
                                     bundle=bundle)]
        choices.append(self._choice(self.t("Talk to a person", "转人工"),
                                    intent="handoff_human"))
        return Reply(self.t("That is all I can say about it from the catalogue (see above). "
                            "For anything more specific a member of staff can help:",
                            "以上就是目录里关于这件事的全部信息。更具体的问题可以请工作人员解答："),
                     [self._offer(choices)])

    def _respond(self, u: Understanding, raw: str) -> Reply:
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
        followed = self.status_follow_up(u, raw, after_status=pending.get("kind") == "status")
        if followed is not None:
            return followed
        conv.pending = {}
        if u.application_id and u.intent != "deny":  # a quoted application number
            self._nlu("check_status", None, max(u.confidence, 0.9))
            return self.status(None, u.application_id)
        text = normalize(raw)
        if (u.intent in ("explore_bundle", "ask_materials") and bundle
                and APPLY_REQUEST.search(text) and not QUESTION.search(text)):
            self._nlu("apply", bundle, u.confidence)
            return self.start_application(bundle)
        if u.intent == "out_of_scope" or (not u.decided and u.confidence < CLARIFY_BELOW):
            # "验车在哪里验": unsure what it is, but it names a matter of a life event.
            matter = self.matter_named(text, bundle) if u.intent not in (
                "confirm", "deny", "greet_thanks", "check_status", "apply") else None
            if matter is not None:
                return self.explain_matter(*matter)
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
        if intent in ANSWERS and raw:
            return self.answer(intent, bundle, raw)
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
