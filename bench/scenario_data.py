"""What the bench's citizens and officers type and upload: valid ID numbers, joint-form answers,
small real JPEG scans and a PDF, the outputs officers enter. No load-generator imports here."""
import io
import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import rstr
from PIL import Image, ImageDraw
from pypdf import PdfWriter

DEPARTMENTS = ("health", "community_health", "public_security", "medical_insurance", "taxation",
               "hrss")
REGION = "330381"  # Ruian
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
# (material type, file name, content type) of the four materials the newborn bundle asks for.
MATERIALS = (("parent_id_card", "id-card.jpg", "image/jpeg"),
             ("household_register", "hukou.jpg", "image/jpeg"),
             ("marriage_certificate", "marriage.jpg", "image/jpeg"),
             ("birth_registration_form", "birth-form.pdf", "application/pdf"))


def id_number(born: date, *, female: bool, rng: random.Random) -> str:
    """A valid resident ID number (GB 11643: region, birth date, order code, check character)."""
    order = rng.randrange(500) * 2 + (0 if female else 1)
    first17 = f"{REGION}{born:%Y%m%d}{order:03d}"
    return first17 + CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def identity(phone: str) -> dict:
    """The real name a citizen verifies (`POST /me/real-name`, required before applying) and so
    writes as the applicant in the form: a birth date a day apart per phone number, so that the
    run's citizens do not share an ID number (taken numbers are refused)."""
    rng = random.Random(phone)
    born = date(1976, 1, 1) + timedelta(days=int(phone[-8:]) % 9000)
    return {"applicant_name": "周" + rng.choice("明华强伟杰涛"),
            "applicant_id_number": id_number(born, female=False, rng=rng)}


def scan(seed: int) -> bytes:
    """A small photographed document (~20 KB JPEG): a card on a desk, lines of print on it."""
    rng = random.Random(seed)
    picture = Image.new("RGB", (800, 500), tuple(rng.randrange(160, 230) for _ in range(3)))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((60, 50, 740, 450), fill=(245, 245, 240), outline=(90, 90, 90), width=4)
    for row in range(8):
        y = 90 + row * 42
        draw.rectangle((100, y, 100 + rng.randrange(250, 600), y + 16), fill=(40, 40, 60))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def form_pdf() -> bytes:
    """A one-page PDF, as a hospital's birth registration service form is handed over."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Birth registration service form"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SCANS = [scan(n) for n in range(6)]
PDF = form_pdf()


def material_file(position: int, content_type: str, rng: random.Random) -> bytes:
    if content_type == "application/pdf":
        return PDF
    return SCANS[(rng.randrange(len(SCANS)) + position) % len(SCANS)]


def multipart(fields: dict[str, str], name: str, filename: str, content: bytes,
              content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its Content-Type header."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                 + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# Characters of a baby's given name: enough of them that one parent applying hundreds of times
# (the apply-only load) does not name two babies born the same day alike, which is one child
# with an application already open (409).
GIVEN_NAME = "小雨晨曦子涵一诺欣怡浩然梓萱宇轩思语嘉言若彤俊熙"


def newborn_form(rng: random.Random) -> dict:
    """What parents who have not verified their real name type into the joint form (the phone
    is known from their sign-in)."""
    born = datetime.now(UTC).date() - timedelta(days=rng.randrange(1, 60))
    return {
        "applicant_name": "周" + rng.choice("明华强伟杰涛"),
        "applicant_id_number": id_number(date(1988 + rng.randrange(8), rng.randrange(1, 13),
                                              rng.randrange(1, 28)), female=False, rng=rng),
        "spouse_name": "林" + rng.choice("芳娜静丽敏燕"),
        "spouse_id_number": id_number(date(1989 + rng.randrange(8), rng.randrange(1, 13),
                                           rng.randrange(1, 28)), female=True, rng=rng),
        "newborn_name": "周" + "".join(rng.choice(GIVEN_NAME) for _ in range(2)),
        "newborn_gender": "female",
        "newborn_birth_date": born.isoformat(), "newborn_birth_time": "07:45",
        "birth_hospital": "瑞安市人民医院", "birth_weight_grams": rng.randrange(2500, 4200),
        "relation_to_newborn": "father", "newborn_ethnicity": "汉族",
        "household_address": "瑞安市万松路1号", "residence_address": "瑞安市万松路1号",
        "bank_account": "62220202" + "".join(rng.choice("0123456789") for _ in range(11)),
        "bank_name": "中国工商银行", "delivery_type": "vaginal",
        "premium_payment_method": "bank_deduction",
    }


def output_value(definition: dict, rng: random.Random) -> str:
    """A value an officer would enter for one output of a matter (its type and pattern)."""
    if definition.get("type") == "id_number":
        born = datetime.now(UTC).date() - timedelta(days=rng.randrange(1, 300))
        return id_number(born, female=bool(rng.randrange(2)), rng=rng)
    pattern = definition.get("pattern")
    if pattern:
        strings = rstr.Rstr(rng)
        for _ in range(20):
            value = strings.xeger(pattern)
            if re.fullmatch(pattern, value):
                return value
    return f"BENCH{rng.randrange(10**9):09d}"


def outputs_for(step: dict, rng: random.Random) -> dict:
    """Every output of a bundle step (`GET /bundles/{code}`'s `steps[]`), filled in."""
    return {o["name"]: output_value(o, rng) for o in step.get("outputs") or []}
