"""When a target counts as failing (ListTargetHealth, the console's Targets page).

A target is **failing** when its last call or delivery attempt failed, or when fewer
than :data:`HEALTHY_RATE` of its calls and attempts of the last 24 hours succeeded.
The first catches a target that is down now; the second one that fails often though
its last answer was fine. Pure: no I/O.
"""

from __future__ import annotations

HEALTHY_RATE = 0.9


def success_rate(succeeded: int, failed: int) -> float | None:
    """The share that succeeded; None when there was nothing."""
    total = succeeded + failed
    return None if total == 0 else succeeded / total


def is_failing(last_succeeded: bool | None, succeeded: int, failed: int) -> bool:
    """``last_succeeded``: how the last call or attempt went (None: there was none)."""
    rate = success_rate(succeeded, failed)
    return last_succeeded is False or (rate is not None and rate < HEALTHY_RATE)
