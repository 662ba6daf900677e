"""Uploads: the real type from the bytes, limits, metadata stripped, kept once in GridFS."""
import contextlib
import hashlib
import io
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import filetype
import gridfs
import pillow_heif
from bson import ObjectId
from flask import current_app
from mongoengine import NotUniqueError
from PIL import Image, ImageOps, UnidentifiedImageError
from pymongo.errors import BulkWriteError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from common.i18n import text
from models import catalogue_state
from models.catalogue import MaterialType
from models.connection import database
from models.material import Material, MaterialKind, MaterialStatus, upload_key
from services.errors import (
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from services.identity import family_members

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

BUCKET = "material_files"
# What the bytes say → our format code, and the name Pillow gives that format.
SNIFFED = {"image/jpeg": "jpeg", "image/png": "png", "image/heic": "heic",
           "application/pdf": "pdf"}
PIL_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "heic": ["HEIF"]}
KEPT_AS = {"jpeg": ("jpeg", "image/jpeg"), "heic": ("jpeg", "image/jpeg"),
           "png": ("png", "image/png"), "pdf": ("pdf", "application/pdf")}
EXTENSIONS = {"jpeg": [".jpg", ".jpeg"], "png": [".png"], "heic": [".heic", ".heif"],
              "pdf": [".pdf"]}
JPEG_QUALITY = 90
# Image metadata worth keeping when re-encoding: colours and transparency, nothing personal.
KEPT_IMAGE_INFO = ("icc_profile", "transparency")


@dataclass(frozen=True)
class Kept:
    """What is stored of an upload: the bytes after cleaning and their real content type."""

    data: bytes
    content_type: str
    format: str


def bucket() -> gridfs.GridFSBucket:
    return gridfs.GridFSBucket(database(), bucket_name=BUCKET)


# GridFS's default chunk size, so the chunks read back like any bucket's file. Every file the
# vault holds was written with it (a material records its size, not its chunk size): keep it.
CHUNK_BYTES = 255 * 1024
_bucket_indexed: set[str] = set()


def write_file(data: bytes) -> ObjectId:
    """Keep bytes as GridFS chunks in one command; returns the file's id.

    The GridFS spec also writes a file document (length, chunk size, upload date) after the
    chunks: the material written next holds the same facts (its file_id, size and created_at),
    so it serves as that document (`open_content`) and a second write is saved. pymongo's upload
    stream would also ask both collections whether they are empty on every upload, to create
    their indexes; here the chunks' index is created once per process.

    A driver retries a write whose answer it lost; the embedded server does not recognise the
    retry, which then meets the first attempt as a duplicate key: ids generated here tell that
    apart from a real conflict (the same in store_upload)."""
    db = database()
    chunks = db[f"{BUCKET}.chunks"]
    if db.name not in _bucket_indexed:
        chunks.create_index([("files_id", 1), ("n", 1)], unique=True)
        _bucket_indexed.add(db.name)
    file_id = ObjectId()
    # Chunk ids carry their creation time: the sweep finds chunks an interrupted upload left.
    pieces = ([{"_id": ObjectId(), "files_id": file_id, "n": n,
                "data": data[start:start + CHUNK_BYTES]}
               for n, start in enumerate(range(0, len(data), CHUNK_BYTES))] or
              [{"_id": ObjectId(), "files_id": file_id, "n": 0, "data": b""}])
    try:
        chunks.insert_many(pieces)
    except BulkWriteError:
        if chunks.count_documents({"files_id": file_id}) != len(pieces):
            raise
    return file_id


def max_upload_bytes() -> int:
    """The largest file one upload may carry (the smaller of the two size settings)."""
    config = current_app.config
    limits = [config["MATERIAL_MAX_BYTES"], config.get("MAX_CONTENT_LENGTH") or 0]
    return min(limit for limit in limits if limit)


def upload_limits() -> dict:
    """What one upload may be, published so a client can refuse a file before sending it."""
    config = current_app.config
    return {"max_bytes": max_upload_bytes(), "max_pixels": config["MATERIAL_MAX_PIXELS"],
            "quota_count": config["MATERIAL_QUOTA_COUNT"],
            "quota_bytes": config["MATERIAL_QUOTA_BYTES"],
            "formats": [{"content_type": content_type, "format": fmt,
                         "kept_as": KEPT_AS[fmt][1], "extensions": EXTENSIONS[fmt]}
                        for content_type, fmt in SNIFFED.items()]}


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("The file is larger than {mib} MiB.", "文件超过 {mib} MiB。",
                           error="payload_too_large", mib=_mib(limit))


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.3g}"


def unsupported(en: str | None = None, zh: str | None = None) -> UnsupportedMediaType:
    return UnsupportedMediaType(en or "Only JPEG, PNG, HEIC photos and PDF documents are accepted.",
                                zh or "仅接受 JPEG、PNG、HEIC 照片和 PDF 文件。",
                                error="unsupported_media_type")


def read_limited(stream: BinaryIO, limit: int) -> bytes:
    """Read at most `limit` bytes; one byte more means the file is too large."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(64 * 1024, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
    return b"".join(chunks)


def sniff(data: bytes) -> str:
    """The format the bytes really are (jpeg, png, heic, pdf); 415 for anything else."""
    kind = filetype.guess(data[:8192]) if data else None
    fmt = SNIFFED.get(kind.mime) if kind else None
    if fmt is None:
        raise unsupported()
    return fmt


def accepts(material_type: MaterialType, fmt: str) -> bool:
    """A material type's formats; HEIC photos are kept as JPEG, so a JPEG type takes them."""
    formats = set(material_type.formats or [])
    return fmt in formats or (fmt == "heic" and "jpeg" in formats)


def _image_too_large(max_pixels: int) -> PayloadTooLarge:
    return PayloadTooLarge("The image is larger than {mp} megapixels.", "图片超过 {mp} 百万像素。",
                           error="image_too_large", mp=f"{max_pixels / 1e6:.3g}")


def clean_image(data: bytes, fmt: str, *, max_pixels: int) -> Kept:
    """Decode and re-encode an image without its metadata (EXIF, GPS, XMP, comments).

    The dimensions in the header are checked before any pixel is decoded, so a small file that
    declares a huge image is refused at once.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=PIL_FORMATS[fmt])
            width, height = image.size
            if width * height > max_pixels:
                raise _image_too_large(max_pixels)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _image_too_large(max_pixels) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise unsupported("The image is damaged or not what it claims to be.",
                              "图片已损坏或格式不符。") from None
    kept_format, content_type = KEPT_AS[fmt]
    # Phones record the camera's orientation in EXIF: apply it before EXIF goes.
    image = ImageOps.exif_transpose(image)
    image.info = {key: image.info[key] for key in KEPT_IMAGE_INFO if key in image.info}
    out = io.BytesIO()
    if kept_format == "jpeg":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True,
                   icc_profile=image.info.get("icc_profile"))
    else:
        image.save(out, "PNG")
    return Kept(out.getvalue(), content_type, kept_format)


def check_pdf(data: bytes) -> Kept:
    """A PDF officers can open: it parses, has pages, and needs no password."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise unsupported("Password-protected PDFs are not accepted.",
                              "不接受设有密码的 PDF 文件。")
        pages = len(reader.pages)
    except UnsupportedMediaType:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            RecursionError):
        raise unsupported("The PDF is damaged.", "PDF 文件已损坏。") from None
    if pages == 0:
        raise unsupported("The PDF has no pages.", "PDF 文件没有页面。")
    return Kept(data, "application/pdf", "pdf")


def inspect_upload(data: bytes, *, material_type: MaterialType | None = None,
                   max_pixels: int) -> Kept:
    """Decide what the bytes are and what of them is kept; raises 415/413 on what is refused."""
    fmt = sniff(data)
    if material_type is not None and not accepts(material_type, fmt):
        names = ", ".join(f.upper() for f in material_type.formats) or "-"
        raise UnsupportedMediaType("This material must be one of: {formats}.",
                                   "该材料仅接受：{formats}。", error="unsupported_media_type",
                                   formats=names)
    if fmt == "pdf":
        return check_pdf(data)
    return clean_image(data, fmt, max_pixels=max_pixels)


def _quota_check(mine: list[Material], new_size: int, new_sha: str) -> None:
    config = current_app.config
    count, used, seen = 0, 0, set()
    for material in mine:
        if material.kind != MaterialKind.UPLOAD.value:
            continue
        count += 1
        if material.sha256 not in seen:  # the same bytes under two types are stored once
            seen.add(material.sha256)
            used += material.size or 0
    adds = 0 if new_sha in seen else new_size
    if count + 1 > config["MATERIAL_QUOTA_COUNT"] or used + adds > config["MATERIAL_QUOTA_BYTES"]:
        raise ValidationFailed(
            "Your vault is full ({count} files, {mib} MiB). Remove materials you no longer need.",
            "您的材料库已满（{count} 个文件，{mib} MiB），请删除不再需要的材料。",
            error="quota_exceeded", count=count, mib=_mib(used),
            errors={"file": [text("The vault quota is exceeded.", "已超出材料库配额。")]})


# Material types change only with the catalogue, whose every change bumps its stamp: each
# process keeps the types it has read for the stamp it last saw (catalogue_state caches that for
# CATALOGUE_STATE_TTL), so an upload reads no type. A catalogue without a stamp is not cached.
_types_lock = threading.Lock()
_types: dict = {"key": None, "types": {}}


def material_type_or_422(code: str) -> MaterialType:
    stamp = catalogue_state.current_state().get("stamp")
    key = (database().name, stamp)
    with _types_lock:
        material_type = _types["types"].get(code) if _types["key"] == key else None
    if material_type is None:
        material_type = MaterialType.objects(code=code).first()
        if material_type is not None and stamp:
            with _types_lock:
                if _types["key"] != key:
                    _types.update(key=key, types={})
                _types["types"][code] = material_type
    if material_type is None:
        raise ValidationFailed(errors={"type": [text("Unknown material type: {code}.",
                                                     "未知的材料类型：{code}。", code=code)]})
    return material_type


def store_upload(*, owner_id: str, type_code: str, stream: BinaryIO,
                 filename: str | None = None, subject_id: str | None = None,
                 material_type: MaterialType | None = None) -> tuple[Material, bool]:
    """Keep an upload in the owner's vault; returns the material and whether it is new.
    (`material_type`: the type of `type_code`, when the caller has read it already.)

    The same bytes of the same type given again return the material already kept. The bytes are
    written to GridFS first and the material (their file document) last, so an interrupted
    upload leaves only chunks that no one can see and `flask materials sweep` removes.
    """
    owner_id = str(owner_id)
    if material_type is None or material_type.code != type_code:
        material_type = material_type_or_422(type_code)
    if subject_id and not family_members.may_act_for(user_id=owner_id, subject_id=str(subject_id)):
        raise ValidationFailed(errors={"subject": [text(
            "You may not give materials for this person.", "您不能为此人提交材料。")]})
    limit = max_upload_bytes()
    data = read_limited(stream, limit)
    if not data:
        raise ValidationFailed(errors={"file": [text("The file is empty.", "文件为空。")]})
    kept = inspect_upload(data, material_type=material_type,
                          max_pixels=current_app.config["MATERIAL_MAX_PIXELS"])
    sha256 = hashlib.sha256(kept.data).hexdigest()
    key = upload_key(owner_id, type_code, sha256)
    # One read of the owner's vault answers the three questions: this upload kept already,
    # room left in the quota, the same bytes stored already (under another type).
    mine = list(Material.objects(owner=owner_id))
    existing = next((m for m in mine if m.dedup_key == key), None)
    if existing is not None:
        return existing, False
    _quota_check(mine, len(kept.data), sha256)

    same_bytes = next((m for m in mine if m.sha256 == sha256 and m.file_id is not None), None)
    file_id, wrote = (same_bytes.file_id, False) if same_bytes else (None, True)
    if wrote:
        file_id = write_file(kept.data)
    material = Material(
        owner=owner_id, subject=str(subject_id) if subject_id else None, type=type_code,
        kind=MaterialKind.UPLOAD.value, status=MaterialStatus.UPLOADED.value,
        content_type=kept.content_type, size=len(kept.data), sha256=sha256, file_id=file_id,
        filename=_display_name(filename), dedup_key=key)
    material.id = ObjectId()  # known before the insert: a retried insert may meet its own
    try:
        material.save(force_insert=True)
    except NotUniqueError:
        theirs = Material.objects.get(dedup_key=key)
        if theirs.id != material.id:
            # The same upload raced us and won: keep theirs, drop our copy of the bytes.
            if wrote:
                delete_file(file_id)
            return theirs, False
    log.info("material %s kept: type %s, %s, %d bytes", material.id, type_code,
             kept.content_type, material.size)
    return material, True


def _display_name(filename: str | None) -> str | None:
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or None


def delete_file(file_id) -> None:
    with contextlib.suppress(gridfs.errors.NoFile):
        bucket().delete(file_id)


def open_content(material: Material) -> gridfs.GridOut:
    """The kept bytes of an uploaded material, as a stream; e-licences carry no file.

    The material is the file's GridFS document (see `write_file`): pymongo's GridOut reads the
    chunks against it. Files kept before that have a document of their own, which says the same."""
    if material.file_id is None:
        raise NotFound("This material has no file to download.", "该材料没有可下载的文件。",
                       error="no_content")
    described = {"_id": material.file_id, "length": material.size or 0,
                 "chunkSize": CHUNK_BYTES, "uploadDate": material.created_at}
    return gridfs.GridOut(database()[BUCKET], file_document=described)


def content_chunks(material: Material) -> Iterator[bytes]:
    """The kept bytes chunk by chunk, for an answer that streams them. The first chunk is read
    now: with no file document to open first, bytes that are gone would otherwise surface only
    mid-stream, after a 200 was sent; here they are a 404 like a material without a file."""
    stored = open_content(material)
    try:
        first = stored.readchunk()
    except gridfs.errors.CorruptGridFile:
        stored.close()
        raise NotFound("The file of this material is gone.", "该材料的文件已不存在。",
                       error="no_content") from None

    def chunks() -> Iterator[bytes]:
        try:
            yield first
            yield from iter(stored.readchunk, b"")
        finally:
            stored.close()
    return chunks()


def sweep(*, grace_seconds: int, now: datetime | None = None) -> dict[str, int]:
    """Housekeeping: stored files no material points to and chunks of uploads cut off mid-write,
    once older than the grace period (so uploads in flight are left alone); and materials past
    their validity marked expired."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=grace_seconds)
    db = database()
    files, chunks = db[f"{BUCKET}.files"], db[f"{BUCKET}.chunks"]

    # Files kept with a document of their own (before `write_file` saved that write) that no
    # material points to.
    orphan_files = 0
    for stored in files.find({"uploadDate": {"$lt": cutoff}}, {"_id": 1}):
        if Material.objects(file_id=stored["_id"]).only("id").first() is None:
            delete_file(stored["_id"])
            orphan_files += 1

    # Chunks no material (nor a file document) describes: what an upload interrupted between
    # its chunks and its material leaves. Chunk ids carry their creation time, so uploads in
    # flight are left alone.
    old_chunk_files = chunks.distinct("files_id", {"_id": {"$lt": ObjectId.from_datetime(cutoff)}})
    described = set(files.distinct("_id", {"_id": {"$in": old_chunk_files}}))
    described.update(Material.objects(file_id__in=old_chunk_files).distinct("file_id"))
    headless = [fid for fid in old_chunk_files if fid not in described]
    orphan_chunks = (chunks.delete_many({"files_id": {"$in": headless}}).deleted_count
                     if headless else 0)

    expired = Material.objects(
        status__in=[MaterialStatus.UPLOADED.value, MaterialStatus.VERIFIED.value],
        valid_until__lte=now).update(set__status=MaterialStatus.EXPIRED.value,
                                     set__updated_at=now)
    if orphan_files or orphan_chunks or expired:
        log.info("materials sweep: %d orphan files, %d orphan chunks removed, %d expired",
                 orphan_files, orphan_chunks, expired)
    return {"orphan_files": orphan_files, "orphan_chunks": orphan_chunks, "expired": expired}
