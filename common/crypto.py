"""Personal data at rest: AES-GCM with key ids, keyed-hash blind indexes, masking, secret hashes."""
import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import unicodedata

import argon2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

# "v1.<kid>.<urlsafe base64 of nonce ‖ ciphertext ‖ tag>": the key id travels with the data, so
# DATA_ACTIVE_KID can change while older values stay readable under their own key.
VERSION = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The value was not produced by us, or its key is no longer configured."""


@functools.lru_cache(maxsize=16)
def _aead(key_b64: str) -> AESGCM:
    key = base64.urlsafe_b64decode(key_b64)
    if len(key) != 32:
        raise RuntimeError("DATA_KEYS must hold 32-byte keys (urlsafe base64)")
    return AESGCM(key)


def encrypt(text: str) -> str:
    """Encrypt a personal value under the active data key; the key id and version are bound in."""
    return encrypt_bytes(text.encode())


def encrypt_bytes(data: bytes) -> str:
    """encrypt() of bytes (a compressed document): the same token, no text encoding before it."""
    config = current_app.config
    kid = config["DATA_ACTIVE_KID"]
    nonce = os.urandom(NONCE_BYTES)
    associated = f"{VERSION}.{kid}".encode()
    sealed = _aead(config["DATA_KEYS"][kid]).encrypt(nonce, data, associated)
    return f"{VERSION}.{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def decrypt(token: str) -> str:
    """The plaintext of a value encrypt() made, with whichever configured key it names."""
    try:
        return decrypt_bytes(token).decode()
    except UnicodeDecodeError as exc:  # bytes sealed by encrypt_bytes, not text
        raise DecryptionError("cannot decrypt personal data") from exc


def decrypt_bytes(token: str) -> bytes:
    """The bytes encrypt_bytes() (or encrypt()) sealed, with whichever configured key it names."""
    try:
        version, kid, payload = token.split(".", 2)
        key = current_app.config["DATA_KEYS"][kid]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        if version != VERSION:
            raise ValueError(version)
        return _aead(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                  f"{version}.{kid}".encode())
    except Exception as exc:  # wrong key, tampered, truncated, unknown key id: all the same
        raise DecryptionError("cannot decrypt personal data") from exc


def key_id(token: str) -> str:
    """The key id an encrypted value names (to find values still under a retired key)."""
    return token.split(".", 2)[1]


def canonical_digits(text: str) -> str:
    """NFKC (full-width forms become ASCII), then every other decimal digit (Arabic-Indic,
    Devanagari, ...) as its ASCII digit: one number, one spelling for checks, hashes, limits."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c
                   for c in text)


def normalize(kind: str, text: str) -> str:
    text = canonical_digits(text).strip()
    if kind == "phone":
        digits = re.sub(r"[\s-]", "", text)
        return digits[3:] if digits.startswith("+86") else digits
    if kind == "id_number":
        return text.upper()
    return text


def blind_index(kind: str, text: str) -> str:
    """A keyed hash to find an encrypted value by equality without storing it in the clear."""
    key = current_app.config["BLIND_INDEX_KEY"].encode()
    message = f"{kind}:{normalize(kind, text)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    """138****5678"""
    if not phone:
        return phone
    phone = normalize("phone", phone)
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "****"


def mask_id_number(number: str | None) -> str | None:
    """330381********123X"""
    if not number:
        return number
    number = normalize("id_number", number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "****"


def mask_account(number: str | None) -> str | None:
    """6222***********3445: a bank account number's first and last four digits."""
    if not number:
        return number
    return number[:4] + "*" * max(0, len(number) - 8) + number[-4:] if len(number) > 8 else "****"


def mask_text(value: str | None) -> str | None:
    """张*, 瑞安市万松路****: a name or address shows its start, not all of it."""
    if not value:
        return value
    keep = 1 if len(value) <= 4 else min(6, len(value) // 2)
    return value[:keep] + "*" * min(4, max(1, len(value) - keep))


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy random token (refresh tokens, tickets): enough to store it."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def _hasher() -> argon2.PasswordHasher:
    config = current_app.config
    return _hasher_for(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"],
                       config["PASSWORD_HASH_PARALLELISM"])


@functools.lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                 parallelism=parallelism, type=argon2.Type.ID)


@functools.lru_cache(maxsize=4)
def _decoy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_kib, parallelism).hash(secrets.token_hex(16))


def hash_secret(secret: str) -> str:
    """argon2id hash of a password or client secret."""
    return _hasher().hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True if the secret matches; with no stored hash a decoy is checked, so the work is alike."""
    hasher = _hasher()
    target = stored_hash or _decoy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    try:
        return hasher.verify(target, secret) and stored_hash is not None
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def secret_needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
