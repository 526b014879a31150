"""The README's tour, run as written: its shell blocks, by bash, in a fresh copy of
the repository, twice in a row (issue 10, finding 1).

The tour and this test cannot drift apart: the test reads README.md. Between "## A
tour" and the next top-level section it takes every ``sh`` block (but one marked
``<!-- tour test: not run … -->``) and the ``python`` block that starts with
``# receiver.py`` (saved under that name, as the tour says), runs the blocks in
one bash with ``set -e`` in a copy of the repository's tracked files
(no ``.venv``, no data: what a fresh clone has), and checks that every answer the
README shows appears in the output, in order. An answer is a comment line that
starts with ``{``, ``[``, ``HTTP/`` or ``http``, alone after the command or at the
end of its line; lines of ``#`` and two or more spaces continue it. ``…`` stands
for anything, a number of six digits or more for any number (ids). A ``text``
block after "the receiver prints" must appear in the receiver's output.

The first run installs Keyhook in the copy (``make run`` creates ``.venv``); the
second runs the same blocks again and must give the same answers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
SKIP_MARK = "<!-- tour test: not run"
ANSWER_START = re.compile(r"^(\{|\[|HTTP/|http)")


@dataclass(frozen=True)
class Tour:
    script: str
    receiver: str
    answers: list[str]
    receiver_lines: list[str]


def _blocks(section: str) -> list[tuple[str, str, str]]:
    """(language, body, the text just before the block) for each fenced block."""
    found = []
    for match in re.finditer(r"```(\w*)\n(.*?)```", section, re.S):
        before = section[max(0, match.start() - 200) : match.start()]
        found.append((match.group(1), match.group(2), before))
    return found


def _answers(body: str) -> list[str]:
    answers: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("#  ") and answers and not stripped.startswith("# {"):
            answers[-1] += stripped[1:].strip()  # a continuation line
            continue
        comment = stripped[2:] if stripped.startswith("# ") else None
        if comment is None and "  # " in line:
            comment = line.split("  # ", 1)[1].strip()  # an answer at the end of the line
        if comment is not None and ANSWER_START.match(comment):
            answers.append(comment)
    return answers


def read_tour() -> Tour:
    text = README.read_text()
    start = text.index("\n## A tour\n")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    script, receiver, answers, receiver_lines = [], "", [], []
    for language, body, before in _blocks(section):
        if language == "python" and body.startswith("# receiver.py\n"):
            receiver = body
        elif language == "sh":
            if SKIP_MARK in before.rsplit("```", 1)[-1]:
                continue
            script.append(body)
            answers += _answers(body)
        elif language == "text" and "the receiver prints" in before:
            receiver_lines += [line for line in body.splitlines() if line.strip()]
    assert receiver, "the tour's receiver.py block is missing"
    return Tour("\n".join(script), receiver, answers, receiver_lines)


def pattern(shown: str) -> re.Pattern[str]:
    """What the README shows as a regular expression: … is anything, an id any id."""
    parts = re.split(r"(\d*…|\d{6,})", shown)  # "9139…": an id shown by its first digits
    regex = "".join(
        ".*?" if part.endswith("…") else r"\d+" if part.isdigit() else re.escape(part)
        for part in parts
    )
    return re.compile(regex, re.S)


def fresh_copy(destination: Path) -> None:
    """The repository's tracked files as they are now: what a clone of this tree has."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_tour(directory: Path, tour: Tour) -> str:
    (directory / "receiver.py").write_text(tour.receiver)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYHOOK_", "VIRTUAL_ENV"))}
    process = subprocess.Popen(
        ["bash", "-c", "set -e\n" + tour.script],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # the tour's server and receiver are in its group
    )
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        _stop_group(process.pid)
    assert process.returncode == 0, f"the tour stopped ({process.returncode}):\n{output[-4000:]}"
    return output


def _stop_group(group: int) -> None:
    """Stop the tour's server and receiver, and wait until they are gone (the next run
    binds the same ports)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def check_answers(output: str, tour: Tour) -> None:
    position = 0
    for shown in tour.answers:
        found = pattern(shown).search(output, position)
        assert found, (
            f"the README shows {shown!r}; the tour printed, from there:\n"
            + output[position : position + 3000]
        )
        position = found.end()


def test_the_tour_extracts_its_blocks_and_answers() -> None:
    tour = read_tour()
    assert "make run DEV=1" in tour.script
    assert "openssl" not in tour.script, "the HTTPS block starts a server: not run"
    assert len(tour.answers) > 20
    assert any(a.startswith("HTTP/1.1 400") for a in tour.answers)
    assert pattern('{"userId":"9139…","details":{"sequence":"1"}').fullmatch(
        '{"userId":"917612","details":{"sequence":"1"}'
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    bool(os.environ.get("KEYHOOK_TEST_DATABASE_URL")),
    reason="the tour runs on the embedded SQLite as the README says: once, in the SQLite run",
)
def test_the_readme_tour_runs_as_written_twice_in_a_fresh_copy(tmp_path: Path) -> None:
    tour = read_tour()
    fresh_copy(tmp_path)
    for run in (1, 2):
        output = run_tour(tmp_path, tour)
        check_answers(output, tour)
        received = (tmp_path / "receiver.log").read_text()
        for line in tour.receiver_lines:
            assert pattern(line).search(received), f"run {run}: the receiver did not print {line!r}"
