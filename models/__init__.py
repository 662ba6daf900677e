"""mongoengine documents, querysets and enums; imports nothing above it."""
