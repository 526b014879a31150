"""Encryption of stored secrets (signing keys, custom headers) with AES-256-GCM.

The master key lives in ``<data dir>/master.key`` (0600) or in
``KEYHOOK_MASTER_KEY`` (base64, 32 bytes), read by the bootstrap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keyhook.errors import Internal

_VERSION = "v1:"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise Internal("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (HMAC of the master key), the same on every node."""
        return hmac.new(self._key, b"keyhook:" + purpose.encode(), hashlib.sha256).digest()

    @staticmethod
    def generate_key() -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return _VERSION + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(_VERSION):
            raise Internal("a stored secret has an unknown format")
        raw = base64.b64decode(sealed[len(_VERSION) :])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()
