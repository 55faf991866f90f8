"""The per-install secret: keyed hashes that cannot be linked across deployments.

Placeholders in redacted payloads and the stand-ins a tracer sees for private text
are HMAC-SHA256 digests under a secret that is made once per ``COGENESIS_HOME``
(``secret.key``, mode 0600) and never leaves the device. Two installs give the same
private value different digests, so neither a cloud provider nor a tracing service
can join what two deployments saw; one install gives it the same digest every time,
so a conversation stays coherent across turns.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

SECRET_FILE = "secret.key"
_lock = threading.Lock()
_cache: dict[Path, bytes] = {}


def install_secret(home: Path | str | None = None) -> bytes:
    """The secret of the install at ``home`` (default ``COGENESIS_HOME``), made on first use."""
    if home is None:
        from langchain_cogenesis.config import default_home

        home = default_home()
    path = Path(home).expanduser() / SECRET_FILE
    with _lock:
        if path in _cache:
            return _cache[path]
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            secret = b""
        if len(secret) < 32:
            path.parent.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_bytes(32)
            # O_EXCL: of two processes making it at once, the second reads the first's
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                secret = path.read_bytes()
            else:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(secret)
        _cache[path] = secret
        return secret


def keyed_digest(text: str, *, purpose: str, length: int = 8, secret: bytes | None = None) -> str:
    """Hex HMAC-SHA256 of ``text`` under the install secret, domain-separated by ``purpose``."""
    key = secret if secret is not None else install_secret()
    mac = hmac.new(key, purpose.encode("utf-8") + b"\x00" + text.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:length]
