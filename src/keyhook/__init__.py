"""Keyhook: an identity server whose heart is a programmable webhook system."""

from __future__ import annotations

__version__ = "0.1.0"
