"""keyhook-receiver: write Keyhook targets — verify a call from its raw bytes, parse
it, answer it, guard against duplicates. Standard library only."""

from __future__ import annotations

from keyhook_receiver.answers import (
    Answer,
    Claims,
    allow,
    modify_request,
    modify_response,
    reject,
)
from keyhook_receiver.errors import Reason, VerificationError
from keyhook_receiver.events import EVENT_DATA, EventData
from keyhook_receiver.payloads import (
    Call,
    Caller,
    EventCall,
    FunctionCall,
    RequestCall,
    ResponseCall,
    parse,
)
from keyhook_receiver.verify import DEFAULT_TOLERANCE, SCHEMES, Scheme, Verified, Verifier

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_DATA",
    "SCHEMES",
    "Answer",
    "Call",
    "Caller",
    "Claims",
    "EventCall",
    "EventData",
    "FunctionCall",
    "Reason",
    "RequestCall",
    "ResponseCall",
    "Scheme",
    "VerificationError",
    "Verified",
    "Verifier",
    "allow",
    "modify_request",
    "modify_response",
    "parse",
    "reject",
]
__version__ = "0.1.0"
