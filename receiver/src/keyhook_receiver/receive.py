"""What every adapter does with a request, framework-neutral: verify the raw body,
parse it, skip a duplicate, run the handler, and turn the outcome into an
:class:`~keyhook_receiver.answers.Answer` — a refused signature is ``401``, a body that
is not a Keyhook call ``400``, both without the handler running; a duplicate delivery
``200`` without it. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keyhook_receiver.answers import Answer, allow
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.errors import VerificationError
from keyhook_receiver.payloads import Call, parse
from keyhook_receiver.verify import Verifier


def refusal(error: VerificationError) -> Answer:
    """The answer to a request the library refuses (its reason in the body, for logs)."""
    status = 400 if error.reason == "body_not_json" else 401
    return Answer(status, {"status": "error", "reason": error.reason, "message": error.message})


def accept(
    verifier: Verifier,
    body: bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    dedupe: Deduplicator | None = None,
) -> Call | Answer:
    """The call to hand to the handler, or the answer to give without running it."""
    try:
        proof = verifier.verify(body, headers)
        call = parse(body)
    except VerificationError as error:
        return refusal(error)
    if dedupe is not None and proof.webhook_id and not dedupe.first(proof.webhook_id):
        return Answer(200, {"status": "success", "duplicate": True})
    return call


def finish(result: Answer | None) -> Answer:
    """A handler's return: an answer, or None for "allow"."""
    return allow() if result is None else result
