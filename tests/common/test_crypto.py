"""Personal data at rest: authenticated encryption with key ids, blind indexes, masks, hashes."""
import base64

import pytest

from common import crypto

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


def test_a_phone_encrypts_to_text_that_does_not_contain_it_and_decrypts_back():
    sealed = crypto.encrypt("13800138000")
    assert "13800138000" not in sealed and sealed.startswith("v1.dev1.")
    assert crypto.decrypt(sealed) == "13800138000"


def test_the_same_value_encrypts_differently_each_time():
    assert crypto.encrypt("330381202001010011") != crypto.encrypt("330381202001010011")


def test_old_values_stay_readable_after_the_active_key_changes(app, monkeypatch):
    old = crypto.encrypt("13800138000")
    monkeypatch.setitem(app.config, "DATA_KEYS", {**app.config["DATA_KEYS"], "k2": NEW_KEY})
    monkeypatch.setitem(app.config, "DATA_ACTIVE_KID", "k2")
    new = crypto.encrypt("13800138000")
    assert crypto.key_id(old) == "dev1" and crypto.key_id(new) == "k2"
    assert crypto.decrypt(old) == crypto.decrypt(new) == "13800138000"


@pytest.mark.parametrize("damage", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # tampered ciphertext
    lambda t: t.replace("v1.dev1.", "v1.gone."),                  # key no longer configured
    lambda t: t.replace("v1.dev1.", "v2.dev1."),                  # version bound into the tag
    lambda t: t[:20],                                             # truncated
    lambda t: "not encrypted at all",
])
def test_a_damaged_or_foreign_value_is_refused_rather_than_misread(damage):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(damage(crypto.encrypt("13800138000")))


def test_a_value_moved_to_another_key_id_fails_authentication(app, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_KEYS", {**app.config["DATA_KEYS"], "k2": NEW_KEY})
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(crypto.encrypt("13800138000").replace("v1.dev1.", "v1.k2."))


def test_the_blind_index_finds_a_phone_however_it_was_typed():
    index = crypto.blind_index("phone", "13800138000")
    assert crypto.blind_index("phone", "+86 138-0013-8000") == index
    assert crypto.blind_index("phone", "13800138001") != index
    assert "13800138000" not in index


def test_the_blind_index_depends_on_the_key_and_the_kind(app, monkeypatch):
    phone = crypto.blind_index("phone", "13800138000")
    assert crypto.blind_index("id_number", "13800138000") != phone
    monkeypatch.setitem(app.config, "BLIND_INDEX_KEY", "another-key")
    assert crypto.blind_index("phone", "13800138000") != phone


def test_id_numbers_are_indexed_regardless_of_the_case_of_their_x():
    assert (crypto.blind_index("id_number", "11010519491231002x")
            == crypto.blind_index("id_number", "11010519491231002X"))


def test_masks_keep_only_the_edges():
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_id_number("33038119900101123x") == "330381********123X"
    assert crypto.mask_phone(None) is None and crypto.mask_id_number("") == ""


def test_a_secret_hash_verifies_only_the_right_secret():
    stored = crypto.hash_secret("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert crypto.verify_secret(stored, "correct horse battery")
    assert not crypto.verify_secret(stored, "correct horse battery!")
    assert not crypto.verify_secret(None, "anything")  # a decoy is checked, never matched
    assert not crypto.verify_secret("garbage", "anything")
