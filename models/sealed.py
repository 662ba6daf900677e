"""A string field that rests encrypted (names of people): the document reads and writes plain
text, the database only ever holds what common.crypto sealed. Values written before the field
was sealed still read (in the clear) until the backfill seals them."""
import mongoengine as me

from common import crypto

# The prefix of what crypto.encrypt makes: "v1.<kid>.<payload>".
SEALED_PREFIX = f"{crypto.VERSION}."


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX) and value.count(".") >= 2


class SealedStringField(me.StringField):
    """Not for values the database must compare or sort: each write seals with a fresh nonce."""

    def to_python(self, value):
        if is_sealed(value):
            try:
                return crypto.decrypt(value)
            except crypto.DecryptionError:
                return value  # a plain value that only looks sealed stays as it was
        return value

    def to_mongo(self, value):
        return crypto.encrypt(value) if isinstance(value, str) and not is_sealed(value) else value

    def prepare_query_value(self, op, value):
        # Updates (set__name=...) store what to_mongo would; a query cannot match a sealed value.
        return self.to_mongo(value) if op in ("set", "set_on_insert") else super(
            ).prepare_query_value(op, value)
