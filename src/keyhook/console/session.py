"""Who is signed in to the console, kept in the browser: sealed cookies, no server state.

Sign-in is the authorization code flow with PKCE against this instance, the console
being a public client of it (:mod:`keyhook.command.console_client`): the flow's
verifier and state wait in the sealed ``keyhook_console_flow`` cookie; the access
token the code buys is kept, sealed with a key derived from the master key (so any
node opens it), in ``keyhook_console`` (HttpOnly, SameSite=Lax, ``Path=/ui/console``,
``Secure`` behind https) until it expires. Every page calls the API operations with
that token through the same interceptor chain as a curl would, so the person sees
and may do exactly what their roles allow.

Forms carry a CSRF field: the HMAC of the session cookie, checked on every post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.crypto.secretbox import SecretBox

SESSION_COOKIE = "keyhook_console"
FLOW_COOKIE = "keyhook_console_flow"
COOKIE_PATH = "/ui/console"
FLOW_SECONDS = 600


@dataclass(frozen=True)
class ConsoleSession:
    access_token: str
    expires_at: float  # epoch seconds
    user_id: str
    name: str


@dataclass(frozen=True)
class Flow:
    state: str
    verifier: str
    next_path: str


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Sessions:
    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._csrf_key = box.derive("console csrf")

    def new_flow(self, next_path: str) -> tuple[Flow, str]:
        flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(48), next_path)
        sealed = self._box.seal(
            orjson.dumps(
                {"s": flow.state, "v": flow.verifier, "n": flow.next_path, "t": time.time()}
            ).decode()
        )
        return flow, sealed

    def flow(self, sealed: str | None) -> Flow | None:
        data = self._open(sealed)
        if data is None or time.time() - float(data.get("t", 0)) > FLOW_SECONDS:
            return None
        return Flow(str(data["s"]), str(data["v"]), str(data["n"]))

    def seal(self, session: ConsoleSession) -> str:
        return self._box.seal(
            orjson.dumps(
                {
                    "a": session.access_token,
                    "e": session.expires_at,
                    "u": session.user_id,
                    "n": session.name,
                }
            ).decode()
        )

    def session(self, sealed: str | None) -> ConsoleSession | None:
        data = self._open(sealed)
        if data is None or float(data.get("e", 0)) <= time.time():
            return None
        return ConsoleSession(str(data["a"]), float(data["e"]), str(data["u"]), str(data["n"]))

    def csrf(self, sealed_session: str) -> str:
        return hmac.new(self._csrf_key, sealed_session.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sealed_session: str, presented: str) -> bool:
        return hmac.compare_digest(self.csrf(sealed_session), presented)

    def _open(self, sealed: str | None) -> dict[str, Any] | None:
        if not sealed:
            return None
        try:
            data = orjson.loads(self._box.open(sealed))
        except Exception:
            return None
        return data if isinstance(data, dict) else None
