"""keyhook-receiver's verification cost per request (issue 14), against the
``standardwebhooks`` package in the same run: 1 KiB and 64 KiB bodies signed as Keyhook
signs them, each library timed on the same requests in alternating rounds. The
``standardwebhooks`` verify also decodes the JSON, so keyhook-receiver is timed both
verifying alone, verifying and decoding the JSON (the like-for-like figure), and
verifying and parsing into typed calls (``parse``). Goal: no slower, like for like.
``python bench/receiver_verify.py [--rounds N] [--calls N]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from standardwebhooks import Webhook

from bench.common import machine, table
from keyhook.crypto.signing import signature_headers
from keyhook_receiver import Verifier, parse

SIZES = {"1 KiB": 1024, "64 KiB": 64 * 1024}


def _body(size: int) -> bytes:
    filler = "é" * 10
    data = {"event": "user.locked", "eventData": {"userId": "1", "notes": []}}
    while len(json.dumps(data, ensure_ascii=False).encode()) < size:
        data["eventData"]["notes"].append(filler + secrets.token_hex(8))  # type: ignore[index]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _time(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


LIKE_FOR_LIKE = "keyhook-receiver verify + json.loads"


def _cases(
    ours: Verifier, theirs: Webhook, body: bytes, headers: dict[str, str]
) -> dict[str, Callable[[], object]]:
    return {
        "standardwebhooks verify (returns the decoded JSON)": lambda: theirs.verify(body, headers),
        "keyhook-receiver verify": lambda: ours.verify(body, headers),
        LIKE_FOR_LIKE: lambda: (ours.verify(body, headers), json.loads(body)),
        "keyhook-receiver verify + parse (typed)": lambda: (
            ours.verify(body, headers),
            parse(body),
        ),
    }


def run(rounds: int, calls: int) -> tuple[str, bool]:
    key = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    rows = []
    met = True
    for label, size in SIZES.items():
        body = _body(size)
        headers = signature_headers([key], "msg_1", int(time.time()), body)
        ours = Verifier(key, scheme="standard")
        theirs = Webhook(key)
        cases = _cases(ours, theirs, body, headers)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):  # interleaved: the machine's drift hits each alike
            for name, fn in cases.items():
                samples[name].append(_time(fn, calls))
        base = statistics.median(samples["standardwebhooks verify (returns the decoded JSON)"])
        for name, values in samples.items():
            value = statistics.median(values)
            ratio = value / base
            if name == LIKE_FOR_LIKE:
                met = met and ratio <= 1.0
            rows.append([label, name, f"{value:.1f}", f"{ratio:.2f}"])
    text = table(["body", "library", "µs per request (median of rounds)", "ratio"], rows)
    text += (
        "\n\ngoal: keyhook-receiver no slower than standardwebhooks, like for like (verify "
        f"and decode the JSON; ratio ≤ 1.00): {'met' if met else 'NOT met'}; parse's typed "
        "calls cost the difference of the last two rows"
    )
    return text, met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(f"keyhook-receiver verification on {machine()}\n")
    text, met = run(args.rounds, args.calls)
    print(text)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
