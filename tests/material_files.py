"""Real files for material tests, built in memory: photos, scans, PDFs, and things that lie."""
import io
import struct
import zlib

import pillow_heif
from PIL import ExifTags, Image
from pypdf import PdfWriter

pillow_heif.register_heif_opener()

GPS_LATITUDE = (27.0, 47.0, 30.0)  # somewhere in Ruian


def image(size=(64, 48), colour=(200, 30, 30), mode="RGB") -> Image.Image:
    picture = Image.new(mode, size, colour)
    # A second colour block so orientation changes are visible in the pixels.
    picture.paste((20, 20, 220) if mode == "RGB" else 0, (0, 0, size[0] // 2, size[1] // 4))
    return picture


def jpeg(size=(64, 48), colour=(200, 30, 30), quality=95) -> bytes:
    out = io.BytesIO()
    image(size, colour).save(out, "JPEG", quality=quality)
    return out.getvalue()


def jpeg_with_gps(size=(64, 48), orientation: int = 1) -> bytes:
    """A phone photo: camera make, orientation, a GPS position and a comment in its metadata."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Camera 12"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 38.0, 10.0)
    out = io.BytesIO()
    image(size).save(out, "JPEG", quality=95, exif=exif, comment=b"taken at home")
    return out.getvalue()


def png(size=(40, 30), colour=(30, 160, 60)) -> bytes:
    out = io.BytesIO()
    image(size, colour).save(out, "PNG")
    return out.getvalue()


def heic(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    image(size).save(out, "HEIF", quality=90)
    return out.getvalue()


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims an enormous image (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def elf_executable() -> bytes:
    """The start of a 64-bit Linux executable."""
    header = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1)
    return header + b"\x00" * 200


def pe_executable() -> bytes:
    """The start of a Windows executable (MZ header, PE signature)."""
    return b"MZ" + b"\x90\x00" * 29 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 200


def truncated_jpeg() -> bytes:
    return jpeg(size=(200, 200))[:300]
