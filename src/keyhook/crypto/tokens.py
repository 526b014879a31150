"""Opaque bearer tokens (personal access tokens, session tokens) and webhook signing keys.

A token is high-entropy random, so a plain SHA-256 is the right stored form:
lookups stay one indexed read, and a stolen table reveals nothing usable.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

PAT_PREFIX = "kh_"


def new_personal_access_token() -> str:
    return PAT_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return "khs_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_signing_key() -> str:
    """``whsec_`` + base64 of 32 random bytes, as Standard Webhooks libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
