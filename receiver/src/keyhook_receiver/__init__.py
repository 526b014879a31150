"""keyhook-receiver: write Keyhook targets — verify a call from its raw bytes, parse
it, answer it, guard against duplicates. Standard library only."""

from __future__ import annotations

from keyhook_receiver.errors import Reason, VerificationError
from keyhook_receiver.verify import DEFAULT_TOLERANCE, SCHEMES, Scheme, Verified, Verifier

__all__ = [
    "DEFAULT_TOLERANCE",
    "SCHEMES",
    "Reason",
    "Scheme",
    "VerificationError",
    "Verified",
    "Verifier",
]
__version__ = "0.1.0"
