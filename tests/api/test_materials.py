"""Materials through the API: uploads, the vault, who may read them, signed links and reviews."""
import io
import sys
import types
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from models.application import Application, Task
from models.audit import MaterialAccess
from models.catalogue import Department, MaterialType
from models.material import Material
from services.errors import InvalidState
from services.materials import vault
from services.workflow import supplements
from tests import material_files as files
from tests.helpers import make_admin, make_citizen, make_clerk, make_officer

URL = "/api/v1/materials"


@pytest.fixture(autouse=True)
def catalogue():
    for code, en, zh, formats in [
        ("parent_id_card", "Parent's ID card", "父母身份证", ["jpeg", "png", "pdf"]),
        ("household_register", "Household register", "户口簿", ["jpeg", "png", "pdf"]),
        ("birth_registration_form", "Birth registration form", "出生登记表", ["pdf"]),
        ("birth_medical_certificate", "Birth medical certificate", "出生医学证明", ["pdf"]),
    ]:
        MaterialType(code=code, name={"en": en, "zh-CN": zh}, formats=formats).save()
    Department(code="health", name={"en": "Health Commission", "zh-CN": "卫健局"}).save()
    Department(code="public_security", name={"en": "Public Security", "zh-CN": "公安局"}).save()


def upload(client, data: bytes, type_code="parent_id_card", name="photo.jpg",
           declared="image/jpeg", expect=201):
    return client.post(URL, data={"type": type_code, "file": (io.BytesIO(data), name, declared)},
                       content_type="multipart/form-data", expect=expect)


def application_with(owner, material_ids, *, department="public_security",
                     material_types=("parent_id_card",), matter="newborn_household_registration",
                     region="330381"):
    """An application given these materials, with one task of `department` in `region` whose
    matter needs `material_types`."""
    task = Task(id=uuid.uuid4().hex, matter=matter, department=department, region=region,
                status="pending", material_types=list(material_types))
    return Application(applicant=str(owner.id), bundle="newborn", bundle_version=1,
                       materials=[str(m) for m in material_ids], tasks=[task]).save()


def audit_entries(material_id=None):
    query = MaterialAccess.objects(material=material_id) if material_id else MaterialAccess.objects
    return list(query.order_by("at"))


# Uploads

def test_a_citizen_uploads_a_real_jpeg_and_reads_it_back(as_citizen):
    photo = files.jpeg_with_gps()

    created = upload(as_citizen, photo).get_json()
    content = as_citizen.get(f"{URL}/{created['id']}/content", expect=200)

    assert {"id", "type", "content_type", "size", "sha256", "status"} <= set(created)
    assert created["type"] == "parent_id_card"
    assert created["content_type"] == "image/jpeg"
    assert created["status"] == "uploaded"
    assert content.mimetype == "image/jpeg"
    assert len(content.data) == created["size"]
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert b"PhoneCo" not in content.data and not Image.open(io.BytesIO(content.data)).getexif()


def test_a_citizen_uploads_a_real_pdf(as_citizen):
    document = files.pdf()

    created = upload(as_citizen, document, type_code="birth_registration_form", name="form.pdf",
                     declared="application/pdf").get_json()

    assert created["content_type"] == "application/pdf"
    assert created["size"] == len(document)
    assert as_citizen.get(f"{URL}/{created['id']}/content", expect=200).data == document


def test_the_real_type_comes_from_the_bytes_not_the_name(as_citizen):
    created = upload(as_citizen, files.png(), name="scan.pdf", declared="application/pdf")

    assert created.get_json()["content_type"] == "image/png"


@pytest.mark.parametrize("executable", [files.elf_executable(), files.pe_executable()],
                         ids=["elf", "pe"])
def test_a_renamed_executable_is_refused(as_citizen, executable):
    refused = upload(as_citizen, executable, name="id_card.jpg", declared="image/jpeg",
                     expect=415).get_json()

    assert refused["error"] == "unsupported_media_type"
    assert as_citizen.get("/api/v1/me/materials", expect=200).get_json() == []


def test_a_refusal_is_explained_in_chinese_to_a_chinese_reader(as_citizen):
    refused = upload(as_citizen.with_headers(**{"Accept-Language": "zh-CN"}),
                     files.elf_executable(), expect=415).get_json()

    assert "JPEG" in refused["message"] and "仅接受" in refused["message"]


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def multipart(data: bytes, type_code="parent_id_card") -> tuple[bytes, str]:
    boundary = "materialboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{type_code}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("over", ["material_limit", "request_limit"])
def test_an_oversized_upload_is_refused_before_its_body_is_read(app, as_citizen, monkeypatch,
                                                                over):
    if over == "material_limit":  # well under MAX_CONTENT_LENGTH, over MATERIAL_MAX_BYTES
        monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 2000)
        body, content_type = multipart(files.pdf() + b"\0" * 200_000)
    else:
        body, content_type = multipart(files.pdf() + b"\0" * app.config["MAX_CONTENT_LENGTH"])
    stream = CountingStream(body)

    refused = as_citizen.post(URL, input_stream=stream, content_length=len(body),
                              content_type=content_type, expect=413).get_json()

    assert refused["error"] == "payload_too_large"
    assert stream.bytes_read == 0
    assert Material.objects.count() == 0


def test_a_file_over_the_material_limit_is_refused(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 2000)

    refused = upload(as_citizen, files.pdf() + b"\0" * 5000, type_code="birth_registration_form",
                     expect=413).get_json()

    assert refused["error"] == "payload_too_large"
    assert "MiB" in refused["message"]


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 2000)
    body, content_type = multipart(files.pdf() + b"\0" * 200_000)
    stream = CountingStream(body)

    as_citizen.post(URL, input_stream=stream, content_type=content_type,
                    environ_overrides={"wsgi.input_terminated": True}, expect=413)

    assert stream.bytes_read < len(body)
    assert Material.objects.count() == 0


def test_an_image_declaring_huge_dimensions_is_refused(as_citizen):
    refused = upload(as_citizen, files.png_declaring(60_000, 60_000), name="bomb.png",
                     expect=413).get_json()

    assert refused["error"] == "image_too_large"


def test_the_same_file_uploaded_twice_answers_200_with_the_first_material(as_citizen):
    photo = files.jpeg()

    first = upload(as_citizen, photo, expect=201).get_json()
    again = upload(as_citizen, photo, expect=200).get_json()

    assert again["id"] == first["id"]
    assert len(as_citizen.get("/api/v1/me/materials", expect=200).get_json()) == 1


def test_a_full_vault_is_a_clear_quota_error(app, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_QUOTA_COUNT", 1)
    upload(as_citizen, files.jpeg(colour=(1, 1, 1)))

    refused = upload(as_citizen, files.jpeg(colour=(9, 9, 9)), expect=422).get_json()

    assert refused["error"] == "quota_exceeded"
    assert "full" in refused["message"]


def test_uploading_needs_a_file_and_a_known_type(as_citizen):
    missing_file = as_citizen.post(URL, data={"type": "parent_id_card"},
                                   content_type="multipart/form-data", expect=422).get_json()
    unknown_type = upload(as_citizen, files.jpeg(), type_code="spaceship_licence",
                          expect=422).get_json()

    assert "file" in missing_file["errors"]
    assert "type" in unknown_type["errors"]


def test_only_citizens_upload(client):
    upload(client.as_(make_officer("health")), files.jpeg(), expect=403)
    upload(client, files.jpeg(), expect=401)


# The vault

def test_the_vault_lists_uploads_and_elicences_with_issuer_validity_and_status(as_citizen,
                                                                               citizen):
    uploaded = upload(as_citizen, files.jpeg()).get_json()
    licence = vault.issue_elicence(
        owner_id=str(citizen.id), subject_id="child-1", type="birth_medical_certificate",
        issuer="health", number="P330381000123", application_id="app-1", task_id="task-1",
        valid_until=datetime.now(UTC) + timedelta(days=3650))
    vault.issue_elicence(owner_id=str(make_citizen().id), subject_id=None,
                         type="birth_medical_certificate", issuer="health", number="P9",
                         application_id="app-2", task_id="task-2")

    listed = as_citizen.get("/api/v1/me/materials", expect=200).get_json()

    assert [m["id"] for m in listed] == [str(licence.id), uploaded["id"]]
    issued = listed[0]
    assert issued["kind"] == "elicence"
    assert issued["status"] == "verified"
    assert (issued["issuer"], issued["issuer_name"]) == ("health", "Health Commission")
    assert issued["type_name"] == "Birth medical certificate"
    assert issued["number"] == "P330381000123"
    assert issued["subject"] == "child-1"
    assert datetime.fromisoformat(issued["valid_until"]) == licence.valid_until
    assert listed[1]["kind"] == "upload" and listed[1]["status"] == "uploaded"


def test_an_elicence_number_that_is_an_id_number_is_masked(as_citizen, citizen):
    vault.issue_elicence(owner_id=str(citizen.id), subject_id="child-1", type="household_register",
                         issuer="public_security", number="330381202401010018",
                         application_id="app-1", task_id="task-1")

    listed = as_citizen.get("/api/v1/me/materials", expect=200).get_json()

    assert listed[0]["number"] == "330381********0018"


def test_a_lapsed_elicence_shows_as_expired(as_citizen, citizen):
    vault.issue_elicence(owner_id=str(citizen.id), subject_id=None, type="household_register",
                         issuer="public_security", number=None, application_id="a",
                         task_id="t", valid_until=datetime.now(UTC) - timedelta(days=1))

    listed = as_citizen.get("/api/v1/me/materials", expect=200).get_json()

    assert listed[0]["status"] == "expired"


def test_an_elicence_has_no_bytes_to_download(as_citizen, citizen):
    licence = vault.issue_elicence(owner_id=str(citizen.id), subject_id=None,
                                   type="household_register", issuer="public_security",
                                   number=None, application_id="a", task_id="t")

    missing = as_citizen.get(f"{URL}/{licence.id}/content", expect=404).get_json()

    assert missing["error"] == "no_content"


def test_an_upload_whose_bytes_are_gone_is_a_404_not_a_cut_download(as_citizen):
    created = upload(as_citizen, files.jpeg()).get_json()
    kept = Material.objects.get(id=created["id"])
    Material._get_db()["material_files.chunks"].delete_many({"files_id": kept.file_id})

    missing = as_citizen.get(f"{URL}/{created['id']}/content", expect=404).get_json()

    assert missing["error"] == "no_content"


def test_the_vault_answers_in_the_readers_language(as_citizen):
    upload(as_citizen, files.jpeg())

    listed = as_citizen.with_headers(**{"Accept-Language": "zh-CN"}).get(
        "/api/v1/me/materials", expect=200).get_json()

    assert listed[0]["type_name"] == "父母身份证"


def test_a_citizen_removes_an_unused_upload_but_not_one_an_application_uses(as_citizen,
                                                                            citizen):
    unused = upload(as_citizen, files.jpeg(colour=(1, 1, 1))).get_json()
    used = upload(as_citizen, files.jpeg(colour=(2, 2, 2))).get_json()
    application_with(citizen, [used["id"]])

    as_citizen.delete(f"{URL}/{unused['id']}", expect=204)
    refused = as_citizen.delete(f"{URL}/{used['id']}", expect=409).get_json()

    assert refused["error"] == "material_in_use"
    assert [m["id"] for m in as_citizen.get("/api/v1/me/materials").get_json()] == [used["id"]]


# Who may see a material

def test_nobody_but_the_owner_and_entitled_officers_sees_a_material(client, as_citizen, citizen):
    material = upload(as_citizen, files.jpeg()).get_json()
    application_with(citizen, [material["id"]], department="public_security")
    outsiders = [make_citizen(), make_admin(), make_clerk(), make_officer("health")]

    for outsider in outsiders:
        reader = client.as_(outsider)
        missing = reader.get(f"{URL}/{material['id']}", expect=404).get_json()
        reader.get(f"{URL}/{material['id']}/content", expect=404)
        assert missing["error"] == "not_found"
    client.get(f"{URL}/{material['id']}/content", expect=401)
    assert audit_entries() == []


def test_a_missing_material_looks_the_same_as_someone_elses(as_citizen):
    nonexistent = as_citizen.get(f"{URL}/{'0' * 24}", expect=404).get_json()
    malformed = as_citizen.get(f"{URL}/not-an-id", expect=404).get_json()

    assert nonexistent == malformed


def test_an_officer_whose_task_needs_the_material_reads_it_and_the_read_is_audited(
        client, as_citizen, citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application = application_with(citizen, [photo["id"]], department="public_security")
    task = application.tasks[0]
    officer = make_officer("public_security")
    reader = client.as_(officer)

    details = reader.get(f"{URL}/{photo['id']}", expect=200).get_json()
    content = reader.get(f"{URL}/{photo['id']}/content?task={task.id}", expect=200)

    assert details["id"] == photo["id"]
    assert len(content.data) == photo["size"]
    reads = audit_entries(photo["id"])
    assert [r.action for r in reads] == ["metadata", "content"]
    for read in reads:
        assert read.officer == str(officer.id)
        assert read.department == "public_security"
        assert read.task == task.id
        assert read.application == str(application.id)
        assert read.owner == str(citizen.id)
        assert read.at is not None


def test_an_officer_of_another_department_cannot_read_it(client, as_citizen, citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application_with(citizen, [photo["id"]], department="public_security")

    client.as_(make_officer("health")).get(f"{URL}/{photo['id']}", expect=404)

    assert audit_entries() == []


def test_an_officer_whose_matter_does_not_need_that_type_cannot_read_it(client, as_citizen,
                                                                        citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application_with(citizen, [photo["id"]], department="public_security",
                     material_types=["household_register"])

    client.as_(make_officer("public_security")).get(f"{URL}/{photo['id']}", expect=404)


def test_an_officer_cannot_read_a_material_the_application_was_not_given(client, as_citizen,
                                                                         citizen):
    given = upload(as_citizen, files.jpeg(colour=(1, 1, 1))).get_json()
    not_given = upload(as_citizen, files.jpeg(colour=(2, 2, 2))).get_json()
    application_with(citizen, [given["id"]], department="public_security")

    client.as_(make_officer("public_security")).get(f"{URL}/{not_given['id']}", expect=404)


def test_an_officer_naming_a_task_of_another_department_is_refused(client, as_citizen, citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application_with(citizen, [photo["id"]], department="public_security")
    health_task = application_with(citizen, [photo["id"]], department="health").tasks[0]

    client.as_(make_officer("public_security")).get(
        f"{URL}/{photo['id']}?task={health_task.id}", expect=404)


def test_the_owner_sees_which_departments_read_their_material(client, as_citizen, citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application_with(citizen, [photo["id"]], department="public_security")
    client.as_(make_officer("public_security")).get(f"{URL}/{photo['id']}", expect=200)

    reads = as_citizen.get(f"/api/v1/me/materials/{photo['id']}/accesses",
                           expect=200).get_json()
    client.as_(make_citizen()).get(f"/api/v1/me/materials/{photo['id']}/accesses", expect=404)

    assert len(reads) == 1
    assert reads[0]["department_name"] == "Public Security"
    assert reads[0]["matter"] == "newborn_household_registration"
    assert "officer" not in reads[0]


# Signed links

@pytest.fixture
def officer_with_material(client, as_citizen, citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()
    task = application_with(citizen, [photo["id"]], department="public_security").tasks[0]
    officer = make_officer("public_security")
    return types.SimpleNamespace(material=photo, task=task, officer=officer,
                                 client=client.as_(officer), anonymous=client)


def test_an_officer_downloads_through_a_short_lived_signed_link(officer_with_material):
    s = officer_with_material
    link = s.client.post(f"/api/v1/workbench/materials/{s.material['id']}/links",
                         json={"task": s.task.id}, expect=201).get_json()

    downloaded = s.anonymous.get(link["url"], expect=200)

    assert len(downloaded.data) == s.material["size"]
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now(UTC)
    assert [(r.action, r.task, r.officer) for r in audit_entries()] == [
        ("link_issued", s.task.id, str(s.officer.id)), ("link_used", s.task.id, str(s.officer.id))]


def test_a_tampered_or_borrowed_link_downloads_nothing(officer_with_material, as_citizen):
    s = officer_with_material
    link = s.client.post(f"/api/v1/workbench/materials/{s.material['id']}/links",
                         json={}, expect=201).get_json()["url"]
    other = upload(as_citizen, files.jpeg(colour=(5, 5, 5))).get_json()

    s.anonymous.get(link[:-3] + "abc", expect=404)
    s.anonymous.get(link.replace(s.material["id"], other["id"]), expect=404)


def test_an_expired_link_is_refused(app, officer_with_material, monkeypatch):
    s = officer_with_material
    monkeypatch.setitem(app.config, "MATERIAL_LINK_TTL", 0)
    link = s.client.post(f"/api/v1/workbench/materials/{s.material['id']}/links",
                         json={}, expect=201).get_json()["url"]

    refused = s.anonymous.get(link, expect=403).get_json()

    assert refused["error"] == "link_expired"


def test_a_link_dies_with_its_officers_account(officer_with_material):
    s = officer_with_material
    link = s.client.post(f"/api/v1/workbench/materials/{s.material['id']}/links",
                         json={}, expect=201).get_json()["url"]
    s.officer.update(set__active=False)

    s.anonymous.get(link, expect=404)


def test_citizens_get_no_signed_links(as_citizen):
    photo = upload(as_citizen, files.jpeg()).get_json()

    as_citizen.post(f"/api/v1/workbench/materials/{photo['id']}/links", json={}, expect=403)


# Reviews

@pytest.fixture
def supplement_requests(monkeypatch):
    """Records the workflow's supplement requests (the workflow's own tests cover what follows)."""

    calls = []
    monkeypatch.setattr(supplements, "request_supplement", lambda **kwargs: calls.append(kwargs))
    return calls


def review_url(material_id):
    return f"/api/v1/workbench/materials/{material_id}/review"


def test_an_officer_verifies_a_material_and_the_vault_shows_it(officer_with_material,
                                                              as_citizen, supplement_requests):
    s = officer_with_material

    reviewed = s.client.post(review_url(s.material["id"]),
                             json={"decision": "verified", "task": s.task.id},
                             expect=200).get_json()

    assert reviewed["status"] == "verified"
    assert as_citizen.get("/api/v1/me/materials").get_json()[0]["status"] == "verified"
    assert supplement_requests == []
    assert audit_entries()[-1].action == "review"


def test_rejecting_a_material_needs_a_reason_and_asks_for_a_supplement(officer_with_material,
                                                                       as_citizen,
                                                                       supplement_requests):
    s = officer_with_material
    url = review_url(s.material["id"])

    no_reason = s.client.post(url, json={"decision": "rejected", "task": s.task.id},
                              expect=422).get_json()
    rejected = s.client.post(url, json={"decision": "rejected", "task": s.task.id,
                                        "reason": "The photo is blurred."},
                             expect=200).get_json()

    assert "reason" in no_reason["errors"]
    assert rejected["status"] == "rejected"
    assert rejected["review_reason"] == "The photo is blurred."
    assert len(supplement_requests) == 1
    request = supplement_requests[0]
    assert request["task_id"] == s.task.id
    assert request["officer"].id == str(s.officer.id)
    assert (request["materials"], request["fields"]) == (["parent_id_card"], [])
    assert request["reason"] == "The photo is blurred."


def test_a_rejection_the_workflow_refuses_changes_nothing(officer_with_material,
                                                          supplement_requests, monkeypatch):
    s = officer_with_material

    def refuse(**kwargs):
        raise InvalidState("Task is not claimed by you", error="task_not_claimed")

    monkeypatch.setattr(sys.modules["services.workflow.supplements"], "request_supplement", refuse)

    s.client.post(review_url(s.material["id"]), json={"decision": "rejected", "task": s.task.id,
                                                      "reason": "Blurred."}, expect=409)

    assert Material.objects.get(id=s.material["id"]).status == "uploaded"


def test_an_officer_without_a_task_needing_it_cannot_review_it(client, as_citizen,
                                                               supplement_requests):
    photo = upload(as_citizen, files.jpeg()).get_json()

    client.as_(make_officer("public_security")).post(
        review_url(photo["id"]), json={"decision": "verified", "task": "whatever"}, expect=404)

    assert Material.objects.get(id=photo["id"]).status == "uploaded"


def test_an_elicence_is_not_reviewed(client, citizen, supplement_requests):
    licence = vault.issue_elicence(owner_id=str(citizen.id), subject_id=None,
                                   type="household_register", issuer="public_security",
                                   number=None, application_id="a", task_id="t")
    task = application_with(citizen, [licence.id], department="public_security",
                            material_types=["household_register"]).tasks[0]

    refused = client.as_(make_officer("public_security")).post(
        review_url(licence.id), json={"decision": "rejected", "reason": "No.", "task": task.id},
        expect=409).get_json()

    assert refused["error"] == "material_not_reviewable"
    assert supplement_requests == []
    assert Material.objects.get(id=licence.id).status == "verified"



@pytest.mark.parametrize("status", ["waiting", "completed", "cancelled", "rejected"])
def test_an_officer_sees_a_material_only_while_their_task_is_being_worked(
        client, as_citizen, citizen, status):
    photo = upload(as_citizen, files.jpeg()).get_json()
    application = application_with(citizen, [photo["id"]], department="public_security")
    Application.objects(id=application.id).update_one(
        __raw__={"$set": {"tasks.0.status": status}})
    reader = client.as_(make_officer("public_security"))

    reader.get(f"{URL}/{photo['id']}", expect=404)
    reader.get(f"{URL}/{photo['id']}/content", expect=404)
    assert audit_entries(photo["id"]) == []


def test_the_published_limits_are_the_ones_enforced(app, client, as_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 4000)
    limits = client.get(f"{URL}/limits", expect=200).get_json()
    assert limits["max_bytes"] == 4000
    assert {f["content_type"] for f in limits["formats"]} == {
        "image/jpeg", "image/png", "image/heic", "application/pdf"}
    assert limits["quota_count"] == app.config["MATERIAL_QUOTA_COUNT"]

    fits = files.pdf() + b"\0" * (limits["max_bytes"] - len(files.pdf()) - 600)
    upload(as_citizen, fits, type_code="birth_registration_form", expect=201)
    upload(as_citizen, files.pdf() + b"\0" * limits["max_bytes"],
           type_code="birth_registration_form", expect=413)
    upload(as_citizen, files.elf_executable(), expect=415)
