"""The bare baseline: minimal Flask + pymongo doing the writes of one application submission.

It answers POST /apply with what our API stores for one newborn application (an idempotency
record, the application with its seven tasks, the record completed with the answer), and nothing
else: no validation, no catalogue, no authentication. Our apply throughput is compared with it.
"""
import os
import uuid
from datetime import UTC, datetime

import pymongo
from flask import Flask, jsonify, request

app = Flask(__name__)
client = pymongo.MongoClient(os.environ["MONGODB_URI"])
db = client[os.environ.get("MONGODB_DB", "onething_baseline")]
db.idempotency.create_index([("owner", 1), ("key", 1)], unique=True)

MATTERS = ["birth_medical_certificate", "vaccination_certificate",
           "newborn_household_registration", "medical_insurance_enrolment",
           "medical_insurance_payment", "citizen_card", "maternity_insurance_benefit"]


@app.post("/apply")
def apply():
    owner = request.headers.get("X-Owner", "anonymous")
    key = request.headers["Idempotency-Key"]
    now = datetime.now(UTC)
    db.idempotency.insert_one({"owner": owner, "key": key, "at": now})
    application = {
        "applicant": owner, "bundle": "newborn", "form": request.get_json(), "status": "in_progress",
        "tasks": [{"id": uuid.uuid4().hex, "matter": m, "status": "pending"} for m in MATTERS],
        "events": [{"id": uuid.uuid4().hex, "type": "application_received", "at": now}],
        "outbox": [{"id": uuid.uuid4().hex, "type": "application_received", "at": now}],
        "created_at": now, "version": 1,
    }
    inserted = db.applications.insert_one(application).inserted_id
    body = {"id": str(inserted), "status": "in_progress"}
    db.idempotency.update_one({"owner": owner, "key": key}, {"$set": {"response": body}})
    return jsonify(body), 201
