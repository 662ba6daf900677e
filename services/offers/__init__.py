"""Proactive offers: a life event or a child's enrolment season starts the "one thing"."""
# Importing the domain connects its listener to identity's real_name_verified (a person a life
# event named verifies: their offer is made), in every process that uses offers at all.
from services.offers import matching  # noqa: F401
