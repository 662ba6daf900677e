"""Where the citizen's applications stand: only their own, the open ones first."""
from assistant import answers
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from services.errors import NotFound
from services.workflow import applications


class Status(DialogueBase):
    """Where applications stand, in any state."""

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
