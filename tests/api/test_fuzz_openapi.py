"""Property-based fuzz of the whole API from its own /openapi.json: never a 5xx.

Schemathesis generates requests for every operation (REST paths and the
``POST /<full method>`` form), both valid ones (positive mode) and ones that
break the schema (negative mode), and sends them with the admin token to a
server of their own, so deletions and locks cannot disturb other tests. Every
answer must be below 500 and JSON; an error must have the one error shape.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.support.server import KeyhookServer

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
BUDGET_SECONDS = 300.0  # a safety net: the run normally takes 60-120 s (some 170 routes)


@dataclass(frozen=True)
class Fuzzed:
    url: str
    token: str


@pytest.fixture(scope="module")
async def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzzed]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("fuzz")))
    await server.start()
    try:
        yield Fuzzed(server.url, server.token)
    finally:
        await server.stop()


def check_response(status: int, content_type: str, content: bytes) -> None:
    assert status < 500, f"server error {status}: {content[:500]!r}"
    assert content_type.startswith("application/json"), f"{status} {content_type}"
    body: Any = orjson.loads(content)
    if status >= 400:
        assert isinstance(body, dict), body
        assert set(body) == {"code", "message", "details"}, body
        assert isinstance(body["message"], str) and body["message"], body


FRAMING_HEADERS = {"transfer-encoding", "content-length", "host", "connection"}


class Fuzzer:
    def __init__(self, fuzzed: Fuzzed) -> None:
        self.url = fuzzed.url
        self.headers = {"Authorization": f"Bearer {fuzzed.token}"}
        self.session = requests.Session()
        self.sent = 0

    def run(self, operation: Any, mode: GenerationMode, examples: int) -> None:
        """Send ``examples`` generated requests for ``operation``; raise on the first bad answer."""

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Any) -> None:
            # Framing headers are the HTTP client's to set: a generated Transfer-Encoding or
            # Content-Length makes the request invalid HTTP, which uvicorn's parser refuses
            # (400, text/plain) before any operation runs. That is not what is fuzzed here.
            if case.headers:
                for name in [n for n in case.headers if n.lower() in FRAMING_HEADERS]:
                    del case.headers[name]
            response = case.call(
                base_url=self.url, session=self.session, headers=self.headers, timeout=15
            )
            self.sent += 1
            content_type = (response.headers.get("content-type") or [""])[0]
            try:
                check_response(response.status_code, content_type, response.content)
            except AssertionError as error:
                raise AssertionError(f"{error}\n{case.as_curl_command(self.headers)}") from None

        fuzz()


def test_no_operation_answers_5xx_or_non_json(fuzzed: Fuzzed) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json", timeout=10)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"/openapi.json has an invalid operation: {result.err()}")
        operations.append(result.ok())
    assert len(operations) >= 20, [op.label for op in operations]
    fuzzer = Fuzzer(fuzzed)
    failures: dict[str, str] = {}
    started = time.monotonic()
    try:
        for operation in operations:
            for mode, examples in EXAMPLES.items():
                if time.monotonic() - started > BUDGET_SECONDS:
                    pytest.fail(f"fuzz budget exceeded after {fuzzer.sent} requests")
                try:
                    fuzzer.run(operation, mode, examples)
                except (AssertionError, requests.RequestException) as error:
                    # Collect every operation's failure, then report them all.
                    failures[f"{operation.label} [{mode.value}]"] = str(error)[:2000]
    finally:
        fuzzer.session.close()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert fuzzer.sent >= len(operations) * 5, f"only {fuzzer.sent} requests were sent"
