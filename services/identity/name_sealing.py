"""Names written before they were sealed (users' and family members' `name` in the clear),
encrypted once where they rest. Idempotent: a sealed name is left alone."""
import logging

from common import crypto
from models.family import FamilyMember
from models.sealed import is_sealed
from models.user import User

log = logging.getLogger(__name__)


def seal_names(*, batch: int = 500) -> int:
    """Encrypt every name still in the clear; returns how many were sealed."""
    sealed = 0
    for document in (User, FamilyMember):
        collection = document._get_collection()
        for row in collection.find({"name": {"$type": "string"}}, {"name": 1}).batch_size(batch):
            if is_sealed(row["name"]):
                continue
            # Guarded by the value read: a name changed meanwhile is sealed by its own write.
            sealed += collection.update_one({"_id": row["_id"], "name": row["name"]}, {
                "$set": {"name": crypto.encrypt(row["name"])}}).modified_count
    if sealed:
        log.info("%d name(s) written before names were sealed now rest encrypted", sealed)
    return sealed
