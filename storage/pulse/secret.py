"""The server secret behind the pulse's who-has-answered markers.

A marker is ``HMAC-SHA256(secret, pulse and Telegram user)`` (``answer_key``).
Without the secret nobody can tell from the database which person a marker belongs to, so
the secret must never be stored in the database and never be logged.

Where it comes from, in order:

1. ``DALSBOT_PULSE_SECRET`` (``settings.pulse_secret``), at least 16 bytes. **Deployments
   with several bot processes, or on PostgreSQL where the processes do not share a data
   folder, must set it**, and to the same value everywhere: two processes with different
   secrets would not recognise each other's markers and would let a person answer twice.
2. Otherwise the file ``<secrets_dir>/pulse_secret`` (``DALSBOT_SECRETS_DIR``, by default
   ``~/.config/dalsbot``; in the Docker image the ``/secrets`` volume): created on first use
   with 32 random bytes (written as 64 hex digits, mode 0600, in a folder of mode 0700) and
   read on every later start. It is kept out of the data folder so that a copy of the data
   (database, its ``-wal``) does not carry the key to the markers. A secret file left in the
   data folder by an older version is moved there once. Copying the file's content into
   ``DALSBOT_PULSE_SECRET`` gives exactly the same keys.

Changing the secret while pulses are open lets people who already answered those pulses
answer once more; closed pulses are unaffected (their markers are deleted at closing).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.settings import Settings, SettingsError
from storage.pulse.logic import MIN_SECRET_BYTES

logger = logging.getLogger(__name__)

SECRET_FILE: Final = "pulse_secret"


def _read(path: Path) -> bytes:
    value = path.read_text(encoding="utf-8").strip().encode("utf-8")
    if len(value) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"The pulse secret in {path} is shorter than {MIN_SECRET_BYTES} bytes; "
            "delete the file to have a new one made"
        )
    return value


@dataclass(frozen=True)
class PulseSecret:
    """The HMAC key for pulse markers, as a service of the running bot."""

    key: bytes


def load_pulse_secret(settings: Settings) -> bytes:
    """The HMAC key for pulse markers: the setting, or the secret file (made when missing).

    Raises :class:`SettingsError` with one line when the file cannot be read or written.
    """
    if settings.pulse_secret is not None:
        value = settings.pulse_secret.get_secret_value().encode("utf-8")
        if len(value) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"Invalid setting DALSBOT_PULSE_SECRET: must be at least {MIN_SECRET_BYTES} bytes"
            )
        return value
    path = Path(settings.secrets_dir) / SECRET_FILE
    try:
        return _load_or_create(path, Path(settings.data_dir) / SECRET_FILE)
    except OSError as exc:
        raise SettingsError(
            f"Cannot keep the pulse secret in {path.parent} ({exc.strerror or exc}); set "
            "DALSBOT_PULSE_SECRET, or DALSBOT_SECRETS_DIR to a writable folder"
        ) from None


def _load_or_create(path: Path, old: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists() and old.exists() and old.resolve() != path.resolve():
        # An older version kept the secret in the data folder: move it, keeping its keys
        # (written anew, as the two folders may be on different volumes).
        _write_new(path, _read(old).decode("utf-8"))
        old.unlink()
        logger.info("Moved the pulse secret out of the data folder")
    if path.exists():
        return _read(path)
    _write_new(path, secrets.token_hex(32))
    return _read(path)


def _write_new(path: Path, value: str) -> None:
    # Written to a private temporary file, then linked into place: the link fails when
    # another process got there first, and nobody ever reads a half-written file.
    temporary = path.with_name(f".{SECRET_FILE}.{secrets.token_hex(6)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value + "\n")
        os.link(temporary, path)
    except FileExistsError:
        logger.debug("Another process created the pulse secret first; using theirs")
    finally:
        temporary.unlink(missing_ok=True)
