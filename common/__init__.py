"""Plumbing shared by every layer: no business rules, no Flask request."""
