"""Uploads: the real type from the bytes, limits, metadata stripped, stored once, swept."""
import hashlib
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from PIL import Image
from pymongo.collection import Collection

from models.catalogue import MaterialType
from models.connection import database
from models.material import Material
from services.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from services.materials import uploads, vault
from tests import material_files as files
from tests.helpers import make_citizen, make_material


@pytest.fixture(autouse=True)
def material_types():
    for code, formats in [("parent_id_card", ["jpeg", "png", "pdf"]),
                          ("household_register", ["jpeg", "png", "pdf"]),
                          ("birth_registration_form", ["pdf"])]:
        MaterialType(code=code, name={"zh-CN": code, "en": code}, formats=formats).save()


def store(owner, data: bytes, type_code="parent_id_card", **kwargs):
    return uploads.store_upload(owner_id=str(owner.id), type_code=type_code,
                                stream=io.BytesIO(data), filename="upload.jpg", **kwargs)


def kept_bytes(material: Material) -> bytes:
    return uploads.open_content(material).read()


def stored_files() -> int:
    """Files kept in the bucket: their chunks, whose file document is the material."""
    return len(database()[f"{uploads.BUCKET}.chunks"].distinct("files_id"))


def test_a_real_jpeg_is_kept_as_jpeg_with_the_hash_of_the_bytes_kept(citizen):
    material, created = store(citizen, files.jpeg())

    content = kept_bytes(material)
    assert created is True
    assert material.content_type == "image/jpeg"
    assert material.size == len(content)
    assert material.sha256 == hashlib.sha256(content).hexdigest()
    assert Image.open(io.BytesIO(content)).format == "JPEG"
    assert material.status == "uploaded"
    assert material.filename == "upload.jpg"


def test_a_phone_photo_loses_its_exif_gps_and_comment(citizen):
    original = files.jpeg_with_gps()
    assert b"PhoneCo" in original and Image.open(io.BytesIO(original)).getexif()

    material, _ = store(citizen, original)

    content = kept_bytes(material)
    kept = Image.open(io.BytesIO(content))
    assert kept.format == "JPEG"
    assert not kept.getexif()
    assert "exif" not in kept.info and "comment" not in kept.info
    assert b"PhoneCo" not in content and b"Exif" not in content
    assert b"taken at home" not in content


def test_a_sideways_phone_photo_is_kept_upright(citizen):
    material, _ = store(citizen, files.jpeg_with_gps(size=(64, 48), orientation=6))

    assert Image.open(io.BytesIO(kept_bytes(material))).size == (48, 64)


def test_a_png_is_kept_as_png(citizen):
    material, _ = store(citizen, files.png())

    assert material.content_type == "image/png"
    assert Image.open(io.BytesIO(kept_bytes(material))).size == (40, 30)


def test_a_heic_photo_is_kept_as_jpeg(citizen):
    material, _ = store(citizen, files.heic(size=(64, 48)))

    kept = Image.open(io.BytesIO(kept_bytes(material)))
    assert material.content_type == "image/jpeg"
    assert (kept.format, kept.size) == ("JPEG", (64, 48))


def test_a_pdf_is_kept_byte_for_byte(citizen):
    document = files.pdf(pages=2)

    material, _ = store(citizen, document, type_code="birth_registration_form")

    assert material.content_type == "application/pdf"
    assert kept_bytes(material) == document


@pytest.mark.parametrize("data", [files.elf_executable(), files.pe_executable(),
                                  b"just some text, named .jpg", files.truncated_jpeg(),
                                  files.encrypted_pdf(), b"%PDF-1.4\nnot really a pdf"],
                         ids=["elf", "pe", "text", "truncated-jpeg", "encrypted-pdf", "fake-pdf"])
def test_what_is_not_a_readable_photo_or_pdf_is_refused_and_nothing_is_kept(citizen, data):
    with pytest.raises(UnsupportedMediaType) as caught:
        store(citizen, data)

    assert caught.value.error == "unsupported_media_type"
    assert Material.objects.count() == 0
    assert stored_files() == 0


def test_a_material_type_accepts_only_its_formats(citizen):
    with pytest.raises(UnsupportedMediaType) as caught:
        store(citizen, files.jpeg(), type_code="birth_registration_form")

    assert "PDF" in caught.value.en


@pytest.mark.parametrize("width,height", [(10_000, 5_000), (100_000, 100_000)],
                         ids=["over-our-limit", "over-pillows-limit"])
def test_an_image_declaring_huge_dimensions_is_refused_without_decoding(citizen, width, height):
    bomb = files.png_declaring(width, height)
    assert len(bomb) < 200

    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge) as caught:
            store(citizen, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert caught.value.error == "image_too_large"
    # Decoding would need width × height × 3 bytes (150 MB and more); refusing needs almost none.
    assert peak < 5 * 1024 * 1024
    assert Material.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(app, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 1000)

    with pytest.raises(PayloadTooLarge):
        store(citizen, files.pdf() + b"\0" * 1000)

    assert stored_files() == 0


def test_an_unknown_material_type_is_a_field_error(citizen):
    with pytest.raises(ValidationFailed) as caught:
        store(citizen, files.jpeg(), type_code="no_such_type")

    assert "type" in caught.value.errors


def test_the_same_file_given_twice_is_kept_once(citizen):
    photo = files.jpeg_with_gps()

    first, first_created = store(citizen, photo)
    again, again_created = store(citizen, photo)

    assert (first_created, again_created) == (True, False)
    assert again.id == first.id
    assert Material.objects.count() == 1
    assert stored_files() == 1


def test_the_same_bytes_as_another_type_share_one_stored_file(citizen):
    scan = files.pdf()

    card, _ = store(citizen, scan)
    register, created = store(citizen, scan, type_code="household_register")

    assert created is True
    assert register.id != card.id
    assert register.file_id == card.file_id
    assert stored_files() == 1


def test_two_citizens_with_the_same_file_each_keep_their_own(citizen):
    photo = files.jpeg()

    mine, _ = store(citizen, photo)
    theirs, _ = store(make_citizen(), photo)

    assert mine.id != theirs.id
    assert mine.file_id != theirs.file_id


def test_over_the_count_quota_is_a_clear_error(app, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_QUOTA_COUNT", 2)
    store(citizen, files.jpeg(colour=(1, 2, 3)))
    store(citizen, files.jpeg(colour=(4, 5, 6)))

    with pytest.raises(ValidationFailed) as caught:
        store(citizen, files.jpeg(colour=(7, 8, 9)))

    assert caught.value.error == "quota_exceeded"
    assert Material.objects.count() == 2
    # Giving again what is already kept costs nothing and still works.
    assert store(citizen, files.jpeg(colour=(1, 2, 3)))[1] is False


def test_over_the_bytes_quota_is_a_clear_error(app, citizen, monkeypatch):
    first, _ = store(citizen, files.pdf())
    monkeypatch.setitem(app.config, "MATERIAL_QUOTA_BYTES", first.size + 100)

    with pytest.raises(ValidationFailed) as caught:
        store(citizen, files.pdf(pages=3), type_code="birth_registration_form")

    assert caught.value.error == "quota_exceeded"
    assert stored_files() == 1


def test_a_material_about_someone_the_citizen_may_not_act_for_is_refused(citizen):
    stranger = make_citizen()

    with pytest.raises(ValidationFailed) as caught:
        store(citizen, files.jpeg(), subject_id=str(stranger.id))

    assert "subject" in caught.value.errors


def test_an_upload_cut_off_before_its_material_is_written_leaves_nothing_visible_and_is_swept(
        citizen, monkeypatch):
    def crash(self, *args, **kwargs):
        raise ConnectionError("worker killed")

    monkeypatch.setattr(Material, "save", crash)
    with pytest.raises(ConnectionError):
        store(citizen, files.jpeg())
    monkeypatch.undo()

    assert Material.objects.count() == 0
    assert stored_files() == 1
    assert uploads.sweep(grace_seconds=3600)["orphan_chunks"] == 0  # still within grace
    later = datetime.now(UTC) + timedelta(hours=2)
    assert uploads.sweep(grace_seconds=3600, now=later)["orphan_chunks"] == 1
    assert stored_files() == 0


def test_the_sweeper_keeps_files_that_materials_point_to(citizen):
    material, _ = store(citizen, files.jpeg())

    later = datetime.now(UTC) + timedelta(days=1)
    swept = uploads.sweep(grace_seconds=60, now=later)
    assert (swept["orphan_files"], swept["orphan_chunks"]) == (0, 0)
    assert hashlib.sha256(kept_bytes(material)).hexdigest() == material.sha256


def test_removing_an_upload_removes_its_bytes_unless_another_material_shares_them(citizen):
    shared, _ = store(citizen, files.jpeg())
    twin, _ = store(citizen, files.jpeg(), type_code="household_register")
    alone, _ = store(citizen, files.png())
    assert twin.file_id == shared.file_id and stored_files() == 2

    vault.delete_upload(material_id=str(alone.id), owner_id=str(citizen.id))
    vault.delete_upload(material_id=str(shared.id), owner_id=str(citizen.id))

    assert stored_files() == 1
    assert hashlib.sha256(kept_bytes(twin)).hexdigest() == twin.sha256


def test_a_file_kept_with_a_gridfs_document_of_its_own_still_reads_and_stays(citizen):
    """Files kept before the material served as their GridFS document have one of their own."""
    material, _ = store(citizen, files.jpeg())
    data = kept_bytes(material)
    legacy_id = uploads.bucket().upload_from_stream(f"{material.sha256}.jpeg", data)
    Material.objects(id=material.id).update_one(set__file_id=legacy_id)
    material.reload()

    later = datetime.now(UTC) + timedelta(days=1)
    swept = uploads.sweep(grace_seconds=60, now=later)

    assert swept["orphan_chunks"] == 1  # the first copy's chunks, which nothing points to now
    assert swept["orphan_files"] == 0
    assert kept_bytes(material) == data


def test_the_sweeper_removes_chunks_an_interrupted_write_left_without_a_file(citizen):
    chunks = database()[f"{uploads.BUCKET}.chunks"]
    old = ObjectId.from_datetime(datetime.now(UTC) - timedelta(hours=3))
    chunks.insert_many([{"_id": old, "files_id": ObjectId(), "n": 0, "data": b"x" * 10},
                        {"files_id": ObjectId(), "n": 0, "data": b"in flight"}])

    result = uploads.sweep(grace_seconds=3600)

    assert result["orphan_chunks"] == 1
    assert [c["data"] for c in chunks.find()] == [b"in flight"]


def test_the_sweeper_marks_lapsed_materials_expired(citizen):
    lapsed = make_material(citizen, valid_until=datetime.now(UTC) - timedelta(days=1))
    current = make_material(citizen, valid_until=datetime.now(UTC) + timedelta(days=1))

    assert uploads.sweep(grace_seconds=3600)["expired"] == 1
    assert Material.objects.get(id=lapsed.id).status == "expired"
    assert Material.objects.get(id=current.id).status == "uploaded"


def test_the_sweep_command_reports_what_it_removed(app, citizen, monkeypatch):
    def crash(self, *args, **kwargs):
        raise ConnectionError("worker killed")

    monkeypatch.setattr(Material, "save", crash)
    with pytest.raises(ConnectionError):
        store(citizen, files.png())
    monkeypatch.undo()

    kept = app.test_cli_runner().invoke(args=["materials", "sweep"])
    time.sleep(1)  # chunk ids tell their age to the second
    swept = app.test_cli_runner().invoke(args=["materials", "sweep", "--grace", "0"])

    assert kept.exit_code == 0 and "orphan chunks removed: 0" in kept.output
    assert swept.exit_code == 0 and "orphan chunks removed: 1" in swept.output
    assert stored_files() == 0


def test_an_upload_whose_writes_are_retried_keeps_its_bytes_and_its_record(citizen, monkeypatch):
    """A driver that lost a write's answer sends it again; the embedded server does not recognise
    the retry, which meets the first attempt as a duplicate key. Every insert is sent twice here,
    as such a retry would: the upload is still kept once, with its bytes (it once took its own
    record for a racing upload's and deleted the bytes that record points to)."""
    insert_one, insert_many = Collection.insert_one, Collection.insert_many

    def retried_one(self, document, *args, **kwargs):
        insert_one(self, dict(document), *args, **kwargs)
        return insert_one(self, document, *args, **kwargs)

    def retried_many(self, documents, *args, **kwargs):
        documents = list(documents)
        insert_many(self, [dict(d) for d in documents], *args, **kwargs)
        return insert_many(self, documents, *args, **kwargs)

    monkeypatch.setattr(Collection, "insert_one", retried_one)
    monkeypatch.setattr(Collection, "insert_many", retried_many)
    data = files.jpeg()
    material, created = store(citizen, data)
    monkeypatch.undo()

    assert created is True
    assert Material.objects(owner=str(citizen.id)).count() == 1
    assert stored_files() == 1
    assert hashlib.sha256(kept_bytes(material)).hexdigest() == material.sha256
