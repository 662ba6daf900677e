"""The dialogue manager: from the conversation's state and one understood message, the next reply.

States (models.conversation.ConversationState): idle → (choosing) → collecting the joint form's
missing answers one at a time → confirming a summary → submitted only on an explicit yes.
A request for a person is honoured in every state. Facts come from assistant.answers.

One module per state: exploring (and answering), filling (the form, slot by slot), confirming
(and submitting), status, handoff; base holds what they share, turn routes a message to them.
"""
from assistant.dialogue.turn import Dialogue

__all__ = ["Dialogue"]
