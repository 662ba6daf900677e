"""Notifications: the outbox worker and its delivery channels."""
