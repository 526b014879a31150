"""``keyhook signature sign|verify``: Keyhook's three signature schemes from a terminal,
for debugging a receiver — what a request signed with a key carries, and whether a
request a receiver got verifies, and if not, why.

The schemes (docs/receivers.md): Standard Webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64>``, the key's bytes after
``whsec_``), ZITADEL's (``ZITADEL-Signature: t=<unix>,v1=<hex>`` over ``"<t>.<body>"``)
and the guide's (``X-Zitadel-Signature: sha256=<hex>`` over the body), both of those
with the key string's UTF-8 bytes. A signing key is a secret: it is read from a file,
an environment variable or a hidden prompt, never from the command line (which shell
history and process lists keep). Imports nothing of the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

KEY_ENV = "KEYHOOK_SIGNING_KEY"
DEFAULT_TOLERANCE = 300  # seconds either way, as Standard Webhooks libraries default
# The order "the strongest present" is judged in: the id and time are signed only by
# Standard Webhooks, the time by ZITADEL's, neither by the guide's.
SCHEMES = ("standard", "zitadel", "seed")


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _standard_key(key: str) -> bytes:
    try:
        return base64.b64decode(key.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise click.ClickException(
            "a signing key is whsec_ and base64 (as Keyhook shows it when the target is made)"
        ) from None


def sign(keys: Sequence[str], body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    """Every header Keyhook sends for ``body`` signed with ``keys`` (oldest first)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    standard = " ".join(
        "v1," + base64.b64encode(_mac(_standard_key(k), signed)).decode() for k in keys
    )
    zitadel = ",".join(
        [f"t={timestamp}"]
        + ["v1=" + _mac(k.encode(), f"{timestamp}.".encode() + body).hex() for k in keys]
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
        "ZITADEL-Signature": zitadel,
        "X-Zitadel-Signature": "sha256=" + _mac(keys[0].encode(), body).hex(),
    }


@dataclass(frozen=True)
class Verdict:
    scheme: str
    ok: bool
    reason: str  # a machine-readable word: valid, missing_header, no_matching_signature, …
    message: str


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _timestamp_verdict(scheme: str, stamp: str, now: float, tolerance: int) -> Verdict | None:
    try:
        moment = int(stamp)
    except ValueError:
        return Verdict(
            scheme, False, "malformed_header", f"the timestamp {stamp!r} is not a number"
        )
    if tolerance and moment < now - tolerance:
        return Verdict(
            scheme,
            False,
            "timestamp_too_old",
            f"signed {int(now - moment)} s ago, more than the {tolerance} s allowed "
            "(a replay? use --tolerance 0 for a delivery you resend yourself)",
        )
    if tolerance and moment > now + tolerance:
        return Verdict(
            scheme,
            False,
            "timestamp_too_new",
            f"signed {int(moment - now)} s in the future: check this machine's clock",
        )
    return None


def _verify_one(
    scheme: str, keys: Sequence[str], body: bytes, headers: dict[str, str], now: float, tol: int
) -> Verdict:
    if scheme == "standard":
        msg_id, stamp = _header(headers, "webhook-id"), _header(headers, "webhook-timestamp")
        given = _header(headers, "webhook-signature")
        if not (msg_id and stamp and given):
            return Verdict(scheme, False, "missing_header", "no webhook-id/-timestamp/-signature")
        late = _timestamp_verdict(scheme, stamp, now, tol)
        if late:
            return late
        wanted = [p.split(",", 1)[1] for p in given.split() if p.startswith("v1,")]
        for k in keys:
            mac = _mac(_standard_key(k), f"{msg_id}.{stamp}.".encode() + body)
            mine = base64.b64encode(mac).decode()
            if any(hmac.compare_digest(mine, w) for w in wanted):
                return Verdict(scheme, True, "valid", f"valid with key {keys.index(k) + 1}")
        return Verdict(scheme, False, "no_matching_signature", "no signature matches a key")
    if scheme == "zitadel":
        given = _header(headers, "ZITADEL-Signature")
        if not given:
            return Verdict(scheme, False, "missing_header", "no ZITADEL-Signature")
        parts = [p.split("=", 1) for p in given.split(",") if "=" in p]
        stamp = next((v for n, v in parts if n == "t"), "")
        late = _timestamp_verdict(scheme, stamp, now, tol)
        if late:
            return late
        wanted = [v for n, v in parts if n == "v1"]
        for k in keys:
            mine = _mac(k.encode(), f"{stamp}.".encode() + body).hex()
            if any(hmac.compare_digest(mine, w) for w in wanted):
                return Verdict(scheme, True, "valid", f"valid with key {keys.index(k) + 1}")
        return Verdict(scheme, False, "no_matching_signature", "no signature matches a key")
    given = _header(headers, "X-Zitadel-Signature")
    if not given:
        return Verdict(scheme, False, "missing_header", "no X-Zitadel-Signature")
    for k in keys:
        if hmac.compare_digest("sha256=" + _mac(k.encode(), body).hex(), given):
            return Verdict(scheme, True, "valid", f"valid with key {keys.index(k) + 1}")
    return Verdict(scheme, False, "no_matching_signature", "the signature matches no key")


def reserialised(body: bytes) -> list[bytes]:
    """The forms a JSON body takes when a receiver parses and dumps it again (the
    guide's mistake), for telling that apart from a wrong key."""
    try:
        value = json.loads(body)
    except ValueError:
        return []
    forms = {
        json.dumps(value).encode(),
        json.dumps(value, separators=(",", ":")).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
    }
    forms.discard(body)
    return sorted(forms)


def verify(
    keys: Sequence[str],
    body: bytes,
    headers: dict[str, str],
    *,
    now: float,
    tolerance: int,
    schemes: Sequence[str] = SCHEMES,
) -> list[Verdict]:
    """A verdict per scheme, the strongest first; a mismatch whose cause is a body
    re-serialised from JSON says so."""
    verdicts = []
    for scheme in schemes:
        verdict = _verify_one(scheme, keys, body, headers, now, tolerance)
        if verdict.reason == "no_matching_signature" and any(
            _verify_one(scheme, keys, form, headers, now, tolerance).ok
            for form in reserialised(body)
        ):
            verdict = Verdict(
                scheme,
                False,
                "body_reserialised",
                "the signature matches the body only after it is parsed and dumped again: "
                "verify the raw bytes as received, not json.dumps(payload)",
            )
        verdicts.append(verdict)
    return verdicts


# --- the commands ---------------------------------------------------------------------


def _keys(key_file: Path | None, key_env: str) -> list[str]:
    """Keys from a file (one per line: rotation overlaps), else the environment
    variable, else a hidden prompt."""
    if key_file is not None:
        text = key_file.read_text(encoding="utf-8")
    elif os.environ.get(key_env):
        text = os.environ[key_env]
    elif sys.stdin.isatty():
        text = click.prompt("Signing key", hide_input=True)
    else:
        raise click.UsageError(
            f"no signing key: give --key-file FILE, or set {key_env} (never on the command line)"
        )
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise click.UsageError("the signing key is empty")
    return keys


def _body(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read the body {path}: {error.strerror}") from None


def _headers(path: Path) -> dict[str, str]:
    """Headers as JSON (an object) or as ``Name: value`` lines (curl -D, a log)."""
    text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = None
    if isinstance(loaded, dict):
        return {str(k): str(v) for k, v in loaded.items()}
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and " " not in name.strip():
            found[name.strip()] = value.strip()
    return found


def key_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--key-file`` and ``--key-env``: where a command finds the signing key."""
    command = click.option(
        "--key-env",
        default=KEY_ENV,
        show_default=True,
        help="The environment variable holding the key when there is no --key-file.",
    )(command)
    return click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A file with the signing key (several lines: several keys, as during a "
        "rotation's overlap).",
    )(command)


@click.group("signature")
def signature() -> None:
    """Sign a body as Keyhook would, or verify a request a receiver got."""


@signature.command("sign")
@key_options
@click.option("--body", "body_path", required=True, help="The body's file, or - for stdin.")
@click.option("--id", "msg_id", default=None, help="The webhook-id (default: a new msg_…).")
@click.option("--timestamp", type=int, default=None, help="Unix seconds (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the headers as a JSON object.")
def sign_command(
    body_path: str,
    msg_id: str | None,
    timestamp: int | None,
    as_json: bool,
    key_file: Path | None,
    key_env: str,
) -> None:
    """Print the signature headers Keyhook would send with BODY (every scheme)."""
    keys = _keys(key_file, key_env)
    headers = sign(
        keys,
        _body(body_path),
        msg_id or "msg_" + os.urandom(8).hex(),
        int(time.time()) if timestamp is None else timestamp,
    )
    if as_json:
        click.echo(json.dumps(headers, indent=2))
    else:
        for name, value in headers.items():
            click.echo(f"{name}: {value}")


@signature.command("verify")
@key_options
@click.option("--body", "body_path", required=True, help="The raw body's file, or -.")
@click.option(
    "--headers",
    "headers_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The request's headers: a JSON object, or Name: value lines.",
)
@click.option(
    "--tolerance",
    type=int,
    default=DEFAULT_TOLERANCE,
    show_default=True,
    help="Seconds a timestamp may be off either way; 0 checks no time (for replays).",
)
@click.option(
    "--scheme",
    type=click.Choice(["auto", *SCHEMES]),
    default="auto",
    show_default=True,
    help="auto: the strongest scheme present decides; otherwise that one only.",
)
def verify_command(
    body_path: str,
    headers_path: Path,
    tolerance: int,
    scheme: str,
    key_file: Path | None,
    key_env: str,
) -> None:
    """Verify a request's signatures; exit 0 when the deciding scheme verifies, 1 if not."""
    keys = _keys(key_file, key_env)
    verdicts = verify(
        keys,
        _body(body_path),
        _headers(headers_path),
        now=time.time(),
        tolerance=tolerance,
        schemes=SCHEMES if scheme == "auto" else (scheme,),
    )
    for v in verdicts:
        click.echo(f"{v.scheme}: {'ok' if v.ok else 'FAILED'} ({v.reason}) {v.message}")
    present = [v for v in verdicts if v.reason != "missing_header"]
    deciding = present[0] if present else verdicts[0]
    if not deciding.ok:
        raise SystemExit(1)
