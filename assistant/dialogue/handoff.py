"""A person behind the assistant: the conversation handed over to the service desk (when asked,
after two misunderstandings in a row, or about a rejected application), the citizen told their
place in the queue and the desk's hours, the draft kept."""
from assistant import slots
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from common.i18n import text
from models.conversation import ConversationState, ConversationStatus
from services.desk import hours, queue
from services.desk.queue import ASKED, NOT_UNDERSTOOD, REJECTED_APPLICATION, Handover

INTROS = {
    ASKED: ("I have passed your conversation to our staff (reference {id}).",
            "已为您转接人工服务（编号 {id}）。"),
    NOT_UNDERSTOOD: ("Sorry, I still could not understand. I have passed your conversation to "
                     "our staff (reference {id}).",
                     "抱歉，我还是没能理解您的意思，已为您转接人工服务（编号 {id}）。"),
    REJECTED_APPLICATION: ("That application was not approved, so I have asked our staff to "
                           "explain why and what you can do (reference {id}).",
                           "这件申请未通过，我已请工作人员为您解释原因和后续办法"
                           "（人工服务编号 {id}）。"),
}


def queue_text(where: Handover, locale: str) -> str:
    """The place in the queue, when people are back, and the desk's hours."""
    def t(en: str, zh: str, **params) -> str:
        return text(en, zh, locale=locale, **params)

    open_hours = t("Our staff are at the desk on working days, {h}.", "人工服务时间：工作日 {h}。",
                   h=where.hours.text())
    if where.status == ConversationStatus.WITH_STAFF:
        return t("A member of staff is with you now.", "工作人员已接入，正在为您服务。")
    if not where.open:
        return t("Our staff are away now and will be back at {t}. You can leave a message here: "
                 "it waits in the queue for them (you are number {n}).",
                 "现在不在人工服务时间，工作人员将于 {t} 上班后回复您。"
                 "您可以先在这里留言，留言会在队列中等候处理（您排在第 {n} 位）。",
                 t=hours.local_text(where.back_at), n=where.position) + " " + open_hours
    return t("You are number {n} in the queue; a member of staff will answer here as soon as "
             "possible.", "您目前排在第 {n} 位，工作人员会尽快在这里回复您。",
             n=where.position) + " " + open_hours


def receipt(where: Handover, locale: str) -> tuple[str, list[dict]]:
    """What a citizen hears for a message written while staff have the conversation: nothing
    from the assistant once a person is there; while waiting, that it is kept for them."""
    card = where.card()
    if where.status == ConversationStatus.WITH_STAFF:
        return "", [card]
    if not where.open:
        return text("Your message is kept for our staff; they will answer after {t}.",
                    "您的留言已保存，工作人员将于 {t} 上班后回复您。", locale=locale,
                    t=hours.local_text(where.back_at)), [card]
    return text("Your message is passed to our staff. You are number {n} in the queue.",
                "您的消息已转给工作人员，您目前排在第 {n} 位。", locale=locale,
                n=where.position), [card]


class HandingOff(DialogueBase):
    """A person asked for, in any state, or needed."""

    def handoff(self, raw: str, reason: str = ASKED, application_id: str | None = None
                ) -> Reply:
        """Always honoured: the conversation waits in the desk's queue, and the citizen is told
        so, with their place and the desk's hours."""
        conv = self.conv
        if reason == ASKED:
            self._nlu("handoff_human", self.nlu.get("bundle"), 1.0)
        definition = self._known_bundle(conv.bundle)
        departments = [d["code"] for d in definition["departments"]] if definition else []
        where = queue.hand_over(conversation=conv, citizen=self.user, reason=reason,
                                words=slots.mask_private(raw), locale=self.locale,
                                departments=departments, application_id=application_id)
        reply = Reply(self.t(*INTROS[reason], id=where.handoff_id) + " "
                      + queue_text(where, self.locale), [where.card()])
        if conv.state == ConversationState.COLLECTING and conv.pending_field:
            definition = self._definition(conv.bundle, conv.bundle_version)
            field = next((f for f in definition["form"] if f["name"] == conv.pending_field),
                         None)
            if field is not None:
                reply = reply.add(Reply(self.t(
                    "Your application is kept: you can go on with it once our staff are done.",
                    "您的申请会为您保留，人工服务结束后可以继续填写："))).add(
                    self.question(field, definition))
        elif conv.state == ConversationState.CONFIRMING:
            reply = reply.add(Reply(self.t("Your application is not submitted until you confirm.",
                                           "您的申请在您确认之前不会提交。")))
        return reply
