"""The chat assistant: understanding, dialogue and grounded answers."""
