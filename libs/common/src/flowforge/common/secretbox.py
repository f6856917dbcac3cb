"""Secrets at rest (database passwords of source connections, later webhook tokens): sealed
with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) under a key that is never in the
database.

Where the key comes from, first found wins:
- `FLOWFORGE_SECRET_KEY`: one or more Fernet keys, comma-separated, the first one sealing;
- `FLOWFORGE_SECRET_KEY_FILE`: a file holding the same (a mounted Kubernetes/compose secret);
- `$FLOWFORGE_HOME/secret.key`: made with mode 0600 on first use (the embedded default).

Rotation: put a new key first and keep the old one after it (`new,old`) and restart ingest:
everything sealed opens, and at start ingest seals every stored secret again under the first
key (its log says how many); after that the old key can go.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from flowforge.common.errors import PermanentError
from flowforge.common.settings import Settings

KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise PermanentError("no secret key: set FLOWFORGE_SECRET_KEY (docs/sources.md)")
        self.rotating = len(keys) > 1  # an old key kept after the new: reseal what is stored
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise PermanentError(
                "a secret key is not a Fernet key (32 url-safe base64 bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise PermanentError(
                "a stored secret does not open with the configured key(s): the key changed "
                "without keeping the old one after the new (FLOWFORGE_SECRET_KEY=new,old)"
            ) from None

    def reseal(self, sealed: str) -> str:
        """The same secret sealed under the first key (rotation)."""
        return self._fernet.rotate(sealed.encode()).decode()

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(keys_of(settings))


def keys_of(settings: Settings) -> list[bytes]:
    if settings.secret_key is not None:
        return _split(settings.secret_key.get_secret_value())
    if settings.secret_key_file is not None:
        return _split(Path(settings.secret_key_file).read_text())
    return _split(_home_key(settings.home_dir / KEY_FILE))


def _split(text: str) -> list[bytes]:
    return [k.strip().encode() for k in text.replace("\n", ",").split(",") if k.strip()]


def _home_key(path: Path) -> str:
    """The embedded key file, made once (0600; a concurrent maker's key wins the race)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(Fernet.generate_key().decode() + "\n")
    return path.read_text()
