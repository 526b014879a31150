"""The targets' health as the Targets page shows it: ListTargetHealth's answer made
into short texts (the last call's status and how long ago, the last 24 hours' success
rate and count, p95) and the link to that call or delivery."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from keyhook.console.session import COOKIE_PATH, ConsoleSession

if TYPE_CHECKING:
    from keyhook.console.app import Console

ACTIONS = "/zitadel.action.v2.ActionService/"


async def target_health(
    console: Console, session: ConsoleSession, ids: list[str], now: datetime
) -> dict[str, dict[str, Any]] | None:
    """Each target's health for display, by id; None if the person may not read it."""
    if not await console.allowed(session, ACTIONS + "ListTargetHealth"):
        return None
    if not ids:
        return {}
    found = await console.call(
        session, ACTIONS + "ListTargetHealth", {"targetIds": ids, "query": {"limit": len(ids)}}
    )
    return {t["targetId"]: _shown(t, now) for t in found["targets"]}


def _shown(health: dict[str, Any], now: datetime) -> dict[str, Any]:
    day = health["last24h"]
    rate = day["successRate"]
    return {
        "failing": health["failing"],
        "last": None if health["last"] is None else _last(health, now),
        "rate": None if rate is None else f"{rate * 100:.0f} %" if rate < 1 else "100 %",
        "total": day["total"],
        "p95": None if day["p95Ms"] is None else "≤ " + duration(day["p95Ms"]),
    }


def _last(health: dict[str, Any], now: datetime) -> dict[str, Any]:
    last = health["last"]
    at = datetime.fromisoformat(last["date"].replace("Z", "+00:00"))
    if last["source"] == "delivery":
        href = f"{COOKIE_PATH}/deliveries/{last['id']}"
    else:  # the call's own page
        href = f"{COOKIE_PATH}/calls/{last['id']}"
    status = str(last["statusCode"]) if last["statusCode"] is not None else "no answer"
    return {
        "href": href,
        "source": last["source"],
        "status": status,
        "succeeded": last["succeeded"],
        "error": last["error"],
        "date": last["date"],
        "when": at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "ago": ago((now - at).total_seconds()),
    }


def duration(ms: float) -> str:
    """``0.5 ms``, ``12 ms``, ``1.7 s``."""
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def ago(seconds: float) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86400:.0f} d ago"
