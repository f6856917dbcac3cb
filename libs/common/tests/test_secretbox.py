"""Secrets sealed at rest: the key's sources, rotation, and clear errors."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from flowforge.common.errors import PermanentError
from flowforge.common.secretbox import SecretBox, keys_of
from flowforge.common.settings import Settings


def test_a_sealed_secret_opens_and_is_not_the_secret():
    box = SecretBox([Fernet.generate_key()])
    sealed = box.seal("hunter2")
    assert "hunter2" not in sealed and box.open(sealed) == "hunter2"
    assert box.seal("hunter2") != sealed  # a fresh IV each time


def test_rotation_keeps_old_secrets_open_and_reseals_under_the_new_key():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = SecretBox([old]).seal("s3cret")
    rotating = SecretBox([new, old])
    assert rotating.rotating and not SecretBox([new]).rotating
    assert rotating.open(sealed) == "s3cret"
    resealed = rotating.reseal(sealed)
    assert SecretBox([new]).open(resealed) == "s3cret"
    with pytest.raises(PermanentError, match="does not open with the configured key"):
        SecretBox([new]).open(sealed)


def test_the_key_comes_from_the_setting_then_a_file_then_home(tmp_path):
    key = Fernet.generate_key()
    assert keys_of(Settings(FLOWFORGE_SECRET_KEY=f"{key.decode()}, other")) == [key, b"other"]
    file = tmp_path / "mounted.key"
    file.write_text(key.decode() + "\n")
    assert keys_of(Settings(FLOWFORGE_SECRET_KEY_FILE=str(file))) == [key]
    home = tmp_path / "home"
    made = keys_of(Settings(FLOWFORGE_HOME=str(home)))
    assert len(made) == 1 and (home / "secret.key").stat().st_mode & 0o777 == 0o600
    assert keys_of(Settings(FLOWFORGE_HOME=str(home))) == made  # made once, then read


def test_a_malformed_key_is_a_clear_error():
    with pytest.raises(PermanentError, match="not a Fernet key"):
        SecretBox([b"too-short"])
