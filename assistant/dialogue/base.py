"""What every state of the dialogue shares: the conversation and who is talking, the locale,
the bundles, and the choices a reply offers and the next message picks."""
from assistant import knowledge, slots
from assistant.normalize import normalize
from common.i18n import text
from models.conversation import Conversation
from models.user import User
from services.catalogue import publishing
from services.errors import NotFound
from services.materials import vault


class DialogueBase:
    """The conversation being answered, who is talking and in which language.

    Each state's turns are a mixin of this base (exploring, filling, confirming, status,
    handoff); `Dialogue` (turn.py) puts them together, so one state hands over to another
    through `self`."""

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

    def t(self, en: str, zh: str, **params) -> str:
        return text(en, zh, locale=self.locale, **params)

    def _nlu(self, intent: str, bundle: str | None, confidence: float) -> None:
        self.nlu = {"intent": intent, "bundle": bundle, "confidence": round(float(confidence), 3)}

    def _bundle_names(self) -> dict[str, str]:
        return knowledge.bundle_names(self.locale)

    def _definition(self, code: str, version: int | None = None) -> dict:
        return knowledge.definition(code, self.locale, version)

    def _known_bundle(self, code: str | None) -> dict | None:
        if not code:
            return None
        try:
            return knowledge.definition(code, self.locale)
        except NotFound:
            return None

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

    def _on_file(self, definition: dict, subject_id: str | None = None) -> dict[str, str]:
        types = [m["code"] for m in publishing.materials_to_give(definition)]
        return vault.on_file(owner_id=str(self.user.id), types=types, subject_id=subject_id)
