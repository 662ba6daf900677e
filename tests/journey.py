"""A parent and an officer over real HTTP, for tests that run the system as separate processes."""
import io
import itertools
import os
import time
import uuid
from datetime import date

import requests
from PIL import Image

from services.identity import numbers
from tests import workflow_support as ws
from tests.processes import wait_until

NEWBORN_MATERIALS = ws.NEWBORN_MATERIALS
DEV_PASSWORD = "onething-dev"  # the development seed's staff password (API.md)
_phones = itertools.count(13_900_000_000 + os.getpid() % 10_000 * 10_000)


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade % 256, 120, 200)).save(out, "JPEG")
    return out.getvalue()


class Caller:
    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = "en"
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs):
        response = self.http.request(method, self.url + path, timeout=30, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text[:1000]}")
        return response.json() if response.content else None


class Parent(Caller):
    """A father who signs in with a texted code, as in the article."""

    def __init__(self, url: str):
        super().__init__(url)
        self.phone = str(next(_phones))
        self.id_number = numbers.make_id_number("330381", date(1991, 4, 2),
                                                int(self.phone[-3:]), "male")
        self.spouse_id_number = numbers.make_id_number("330381", date(1993, 8, 9),
                                                       int(self.phone[-3:]), "female")
        code = self.call("POST", "/api/v1/auth/otp", 202, json={"phone": self.phone})
        tokens = self.call("POST", "/api/v1/auth/login",
                           json={"phone": self.phone, "code": code["debug_code"]})
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        self.call("POST", "/api/v1/me/real-name",
                  json={"name": "Zhou Lei", "id_number": self.id_number})

    def register_device(self) -> str:
        token = f"phone-{uuid.uuid4().hex}"
        self.call("POST", "/api/v1/me/devices", 201,
                  json={"token": token, "platform": "android", "locale": "en"})
        return token

    def apply_for_a_newborn(self, key: str | None = None) -> dict:
        """The joint form and the four materials; no `subject`: the bundle's natural one."""
        materials = [self.call("POST", "/api/v1/materials", 201, data={"type": code},
                               files={"file": (f"{code}.jpg", jpeg(40 * n), "image/jpeg")})["id"]
                     for n, code in enumerate(NEWBORN_MATERIALS)]
        form = ws.newborn_form(applicant_name="Zhou Lei", spouse_name="Chen Jing",
                               spouse_id_number=self.spouse_id_number,
                               mailing_address="1 Wansong Road, Ruian")
        return self.call("POST", "/api/v1/applications", 201,
                         headers={"Idempotency-Key": key or uuid.uuid4().hex},
                         json={"bundle": "newborn", "form": form, "materials": materials})

    def inbox(self) -> list[dict]:
        return self.call("GET", "/api/v1/me/notifications")["items"]

    def told(self, type_: str, task_id: str | None = None) -> dict | None:
        return next((n for n in self.inbox() if n["type"] == type_
                     and (task_id is None or n.get("task") == task_id)), None)


class Officer(Caller):
    """A development officer (the seed's `officer.<department>`)."""

    def __init__(self, url: str, department: str):
        super().__init__(url)
        tokens = self.call("POST", "/api/v1/auth/staff-login",
                           json={"username": f"officer.{department}", "password": DEV_PASSWORD})
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    def complete(self, task_id: str, outputs: dict) -> float:
        """Claim and complete a task; returns the monotonic time the completion was answered."""
        self.call("POST", f"/api/v1/workbench/tasks/{task_id}/claim")
        self.call("POST", f"/api/v1/workbench/tasks/{task_id}/complete",
                  json={"outputs": outputs, "note": "done at the service station"})
        return time.monotonic()


def first_task(application: dict, matter: str = "birth_medical_certificate") -> dict:
    return next(t for t in application["tasks"] if t["matter"] == matter)


def complete_the_birth_certificate(url: str, application: dict) -> float:
    task = first_task(application)
    return Officer(url, task["department"]).complete(
        task["id"], ws.outputs_for("birth_medical_certificate"))


def wait_for(predicate, timeout: float):
    return wait_until(predicate, timeout=timeout, interval=0.05)
