"""``python -m keyhook``."""

from __future__ import annotations

from keyhook.cli import main

main()
