"""The first admin: created at the gateway's first start, so a new installation is usable and
secure at once. Embedded (`./flowforge up`): a generated password in
`$FLOWFORGE_HOME/admin.password` and an admin API key in `$FLOWFORGE_HOME/admin.key` (both
mode 0600; `up` prints the password once, the local CLI uses the key by itself).
Deployments: the password from FLOWFORGE_ADMIN_PASSWORD (a secret), no files."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flowforge.common.settings import Settings
from flowforge.gateway.identity import Identities, hash_password, new_key

log = logging.getLogger(__name__)
ADMIN = "admin"
CLI_KEY_NAME = "local CLI (admin.key)"


def secret_file(path: Path, text: str) -> None:
    """Write `text` readable by this user only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


async def ensure_admin(identities: Identities, settings: Settings) -> bool:
    """Create the first admin when there is no user at all; True if it was created now."""
    if await identities.users():
        return False
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(18)
    if not await identities.add_user(ADMIN, await hash_password(password), "admin"):
        return False  # another gateway replica created it first
    if given:
        log.info("created the first admin user %r (password from FLOWFORGE_ADMIN_PASSWORD)", ADMIN)
        return True
    home = settings.home_dir
    secret_file(home / "admin.password", password)
    key_id, key, secret_hash = new_key()
    await identities.add_key(id=key_id, name=CLI_KEY_NAME, role="admin",
                             secret_hash=secret_hash, created_by="system")  # fmt: skip
    secret_file(home / "admin.key", key)
    log.info(
        "created the first admin user %r: password in %s, an admin API key (%s) in %s",
        ADMIN, home / "admin.password", key_id, home / "admin.key",
    )  # fmt: skip
    return True
