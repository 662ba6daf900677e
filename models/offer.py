"""Proactive offers: life events partners report, and the applications offered to citizens."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class OfferSource(StrEnum):
    LIFE_EVENT = "life_event"  # a partner (a hospital, a registry) reported it
    ENROLMENT = "enrolment"  # a child reaches kindergarten or school age this season


class EventPerson(me.EmbeddedDocument):
    """Someone a life event is about: found by the blind index of their ID number, which (and
    their name) is kept only encrypted, and only for the offer's lifetime."""

    role = me.StringField(required=True)  # mother, father, spouse, …
    id_number_index = me.StringField()
    id_number_encrypted = me.StringField()
    name_encrypted = me.StringField()
    user = me.StringField()  # the citizen, once one is verified with this ID number
    offer = me.StringField()  # the offer made to them
    opted_out = me.BooleanField(default=False)  # the citizen wants no offers


class LifeEvent(TimestampedDocument):
    partner = me.StringField(required=True)  # the partner that reported it
    event_id = me.StringField(required=True)  # the partner's own id: a resend changes nothing
    type = me.StringField(required=True)  # birth, marriage
    bundle = me.StringField(required=True)
    region = me.StringField(required=True)
    occurred_at = me.DateTimeField(required=True)
    people = me.EmbeddedDocumentListField(EventPerson)
    facts_encrypted = me.StringField()  # the event's facts (a newborn's name, …) as JSON
    response = me.DictField()  # the first answer, given again to a resend
    expires_at = me.DateTimeField(required=True)
    # Set when its personal data was removed after the offers' lifetime.
    scrubbed_at = me.DateTimeField()
    meta = {
        "collection": "life_events",
        "indexes": [
            {"fields": ["partner", "event_id"], "unique": True},
            {"fields": ["people.id_number_index"], "sparse": True},
            "expires_at",
        ],
    }


class Offer(TimestampedDocument):
    citizen = me.StringField(required=True)
    # What the offer is for, once: "event:<life event>:<citizen>" or
    # "enrolment:<family member>:<bundle>:<year>". Its id is derived from it.
    key = me.StringField(required=True, unique=True)
    source = me.StringField(required=True, choices=[s.value for s in OfferSource])
    event = me.StringField()  # the life event, for offers it made
    bundle = me.StringField(required=True)
    # Whom the application will be about: {"kind": "newborn"} or {"kind": "family", "id"}.
    subject = me.DictField()
    # What is filled in for the citizen ({"form": {...}, "facts": {...}}), encrypted as JSON:
    # names, dates and certificate numbers are personal data.
    prefill_encrypted = me.StringField()
    region = me.StringField()
    status = me.StringField(required=True, choices=[s.value for s in OfferStatus],
                            default=OfferStatus.OPEN.value)
    reason = me.StringField()  # why it closed without the citizen: taken by a relative, …
    expires_at = me.DateTimeField(required=True)
    decided_at = me.DateTimeField()
    application = me.StringField()  # the application accepting it made
    notified = me.BooleanField(default=False)  # its notification is stored for the relay
    meta = {
        "collection": "offers",
        "indexes": [
            ("citizen", "-created_at"),
            ("status", "expires_at"),
            "event",
            {"fields": ["notified", "created_at"],
             "partialFilterExpression": {"notified": False}},
        ],
    }


class SweepMark(me.Document):
    """The day a once-a-day part of a sweep last ran (the enrolment season's cohort)."""

    id = me.StringField(primary_key=True)
    day = me.StringField()
    at = me.DateTimeField()
    meta = {"collection": "sweep_marks"}
