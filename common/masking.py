"""Personal numbers in free text (ID numbers, mobile and account numbers), found and masked."""
import re

ID_NUMBER = re.compile(r"(?<![0-9])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")
LONG_DIGITS = re.compile(r"(?<!\d)\d{12,19}(?!\d)")


def mask_private(text: str) -> str:
    """ID numbers, mobile numbers and long account numbers masked before a text is stored or
    shown to someone who may not read them."""
    text = ID_NUMBER.sub(lambda m: m.group(0)[:6] + "*" * 8 + m.group(0)[-4:], text)
    text = MOBILE.sub(lambda m: _mask_mobile(m.group(1)), text)
    return LONG_DIGITS.sub(lambda m: m.group(0)[:4] + "*" * (len(m.group(0)) - 8)
                           + m.group(0)[-4:], text)


def _mask_mobile(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return digits[:3] + "****" + digits[-4:]
