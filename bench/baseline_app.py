"""The bare baseline: minimal Flask + pymongo doing the writes of one application submission.

It answers POST /apply with exactly the writes `submission.submit_application` makes for a
newborn application, in the same order and to the same collections with the same indexes (the
product's own, read from its models: each index costs every write its keys): add the
newborn to the family (an upsert on an id derived from the idempotency key), then insert the
application with its seven tasks, timeline, outbox and first answer (the application is the
record of its idempotency key). Nothing else: no authentication, no validation, no reads, no
encryption, no catalogue. Our apply throughput is compared with this one's.
"""
import hashlib
import os
import uuid
from datetime import UTC, datetime

import pymongo
from bson import ObjectId
from flask import Flask, jsonify, request

from models.application import Application
from models.family import FamilyMember

app = Flask(__name__)
# The client options our API uses in production on this server (models.connection): journaled,
# majority, no retryable writes (the embedded server deduplicates none and scans its record of
# them at every one), so both sides send the same writes the same way.
client = pymongo.MongoClient(os.environ["MONGODB_URI"], tz_aware=True, journal=True,
                             w="majority", wTimeoutMS=10_000, retryWrites=False,
                             retryReads=False)
db = client[os.environ.get("MONGODB_DB", "onething_baseline")]
for collection, document in ((db.applications, Application), (db.family_members, FamilyMember)):
    for spec in document._meta["index_specs"]:
        collection.create_index(spec["fields"],
                                **{k: v for k, v in spec.items() if k not in ("fields", "cls")})
REGION = "330381"  # the region every task of the bench's citizens is routed to

# (matter, department, depends on): the newborn bundle's seven matters.
STEPS = [
    ("birth_medical_certificate", "health", []),
    ("vaccination_certificate", "community_health", []),
    ("newborn_household_registration", "public_security", ["birth_medical_certificate"]),
    ("medical_insurance_enrolment", "medical_insurance", ["newborn_household_registration"]),
    ("medical_insurance_payment", "taxation", ["medical_insurance_enrolment"]),
    ("citizen_card", "hrss", ["medical_insurance_enrolment"]),
    ("maternity_insurance_benefit", "medical_insurance", ["birth_medical_certificate"]),
]


def _event(kind: str, now: datetime, task: dict | None = None) -> dict:
    return {"id": uuid.uuid4().hex, "type": kind, "at": now, "actor_role": "system",
            "actor": None, "department": task and task["department"],
            "task": task and task["id"], "matter": task and task["matter"], "data": {}}


@app.post("/apply")
def apply():
    owner = request.headers.get("X-Owner", "anonymous")
    key = request.headers["Idempotency-Key"]
    body = request.get_json()
    now = datetime.now(UTC)
    form = body.get("form") or {}
    child = ObjectId(hashlib.sha256(f"{owner}:{key}".encode()).digest()[:12])
    db.family_members.update_one({"_id": child}, {"$setOnInsert": {
        "owner": owner, "relation": "child", "name": form.get("newborn_name"),
        "birth_date": form.get("newborn_birth_date"), "gender": form.get("newborn_gender"),
        "created_at": now, "updated_at": now}}, upsert=True)
    tasks = [{"id": uuid.uuid4().hex, "matter": matter, "name": {"zh-CN": matter, "en": matter},
              "department": department, "department_name": {"zh-CN": department,
                                                            "en": department},
              "status": "waiting" if needs else "pending", "depends_on": needs,
              "region": REGION, "queue": f"{department}|{REGION}|"
                                         + ("waiting" if needs else "pending"),
              "material_types": [], "needs": [], "inputs": {}, "outputs": {},
              "released_at": None if needs else now, "due_at": None if needs else now,
              "overdue": False} for matter, department, needs in STEPS]
    ready = [t for t in tasks if t["status"] == "pending"]
    application = {
        "_id": ObjectId(), "applicant": owner, "bundle": body.get("bundle"), "bundle_version": 1,
        "subject": {"kind": "family", "id": str(child), "relation": "child",
                    "name": form.get("newborn_name")},
        "form": form, "form_protected": {}, "materials": body.get("materials") or [],
        "status": "in_progress", "channel": "app", "idempotency_key": f"{owner}:{key}",
        "open_key": f"{body.get('bundle')}:{child}", "region": REGION,
        "tasks": tasks,
        "events": [_event("application_received", now)]
        + [_event("task_routed", now, t) for t in ready],
        "outbox": [_event("application_received", now)]
        + [_event("task_routed", now, t) for t in ready],
        "outbox_pending": True, "created_at": now, "updated_at": now, "version": 1,
    }
    answer = {"id": str(application["_id"]), "status": "in_progress", "bundle": "newborn",
              "tasks": [{k: t[k] for k in ("id", "matter", "department", "status", "depends_on")}
                        for t in tasks]}
    application["first_response"] = answer
    application["request_fingerprint"] = uuid.uuid4().hex
    db.applications.insert_one(application)
    return jsonify(answer), 201


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
