"""A request for a person, honoured in every state: a handoff staff can see, the draft kept."""
import logging

from flask import current_app

from assistant import slots
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from models.conversation import ConversationState
from models.handoff import Handoff, HandoffStatus

log = logging.getLogger(__name__)


class HandingOff(DialogueBase):
    """A person asked for, in any state."""

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
            region = ((self.account.region if self.account is not None else None)
                      or current_app.config.get("DEFAULT_REGION") or None)
            existing = Handoff(conversation=str(conv.id), citizen=str(self.user.id),
                               bundle=conv.bundle, departments=departments, region=region,
                               locale=self.locale, reason=slots.mask_private(raw)[:500]).save()
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
