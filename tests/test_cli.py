"""``keyhook start`` as a user runs it: a real subprocess (issue 10, finding 7).

"listening on …" is printed only once the port is bound, and a taken port stops
the start at once — before anything is set up — with the port, the likely cause
and how to choose another.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.server import free_port


def _start(port: int, data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keyhook",
            "start",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_a_taken_port_is_said_with_what_to_do_and_nothing_is_set_up(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(port, tmp_path / "data")
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert f"port {port} on 127.0.0.1 is in use" in output
    assert f"--port {port + 1}" in output and f"KEYHOOK_PORT={port + 1}" in output
    assert "listening" not in output
    assert "Errno" not in output and "Traceback" not in output
    assert not (tmp_path / "data").exists(), "nothing is set up for a start that cannot listen"


def test_listening_is_printed_once_the_port_is_bound(tmp_path: Path) -> None:
    port = free_port()
    process = _start(port, tmp_path / "data")
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "the server exited before saying it listens"
            if "listening on" in line:
                break
        assert f"listening on http://127.0.0.1:{port}" in line
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # bound and listening when it said so
    finally:
        process.terminate()
        process.wait(20)
