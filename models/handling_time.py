"""Typical handling times kept up to date as tasks complete: for each matter in each region
(and in the whole province), its most recent completions and their median, so a prediction reads
a few small documents instead of aggregating every finished application."""
import mongoengine as me

PROVINCE = "*"  # the region of a matter's province-wide history
ROLLED = "~rolled"  # the document that says up to when completions were rolled up


class HandlingTime(me.Document):
    id = me.StringField(primary_key=True)  # "<matter>|<region or *>", or ROLLED
    matter = me.StringField()
    region = me.StringField()
    # The most recent few hundred completions, oldest first, as two lists kept aligned (lists of
    # plain values cost the embedded server a fifth of lists of small documents).
    at = me.ListField(me.DateTimeField())
    ms = me.ListField(me.FloatField())
    median_ms = me.FloatField()
    newest = me.DateTimeField()
    until = me.DateTimeField()  # ROLLED only: completions before this are counted
    back_to = me.DateTimeField()  # ROLLED only: and those after this (the older history's step)
    meta = {"collection": "handling_times"}


def key(matter: str, region: str | None) -> str:
    return f"{matter}|{region or PROVINCE}"
