"""Confirming and submitting: a summary of everything to be sent, masked where private, and the
application submitted through the workflow only on an explicit yes, once per draft."""
from assistant import answers, slots
from assistant.answers import Reply
from assistant.dialogue.base import DialogueBase
from assistant.dialogue.filling import EDIT_WORDS
from assistant.nlu import Understanding
from assistant.normalize import normalize
from models.conversation import ConversationState
from services.catalogue import joint_form, publishing
from services.errors import DomainError, NotFound, ValidationFailed
from services.workflow import applications, submission

CONFIRM_AT = 0.5  # a classified "yes" this sure submits a confirmed summary


class Confirming(DialogueBase):
    """Confirming: the summary, then submitted on an explicit yes, or changed, or cancelled."""

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
        if action.get("do") == "cancel" or self._is_cancel(u, raw):
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
