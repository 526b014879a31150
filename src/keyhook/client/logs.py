"""``deliveries replay`` and the live tails ``deliveries tail`` and ``calls tail``.

Replay is one API call (ReplayTargetDeliveries): the command first asks for the
count (``"preview": true``), says it and asks to go on (or ``--yes``); then it
sends, and with ``--wait`` (the default on a terminal) follows the replayed
deliveries by polling ListDeliveries until none is pending or Ctrl-C. The tails
poll their list operation about every 0.5 s and print a line for each new row
or changed status. It touches nothing but :mod:`keyhook.client.runner`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from keyhook.client import output
from keyhook.client.errors import UsageProblem
from keyhook.client.runner import Run, common

POLL_SECONDS = 0.5
_AGO = re.compile(r"([0-9]+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def moment(given: str, at: datetime | None = None) -> str:
    """An RFC 3339 time from ``24h``/``30m``/``7d`` (that long ago) or an RFC 3339
    time as is."""
    match = _AGO.fullmatch(given.strip())
    if match:
        ago = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return ((at or datetime.now(UTC)) - ago).isoformat(timespec="seconds")
    try:
        parsed = datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(
            f"{given!r} is not a time: write a duration ago such as 24h, 30m or 7d, or an "
            "RFC 3339 time such as 2026-01-10T10:30:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat(timespec="seconds")


def _count_pending(run: Run, target_id: str, since: str, until: str | None) -> int:
    body: dict[str, Any] = {
        "targetId": target_id,
        "status": "pending",
        "from": since,
        "query": {"limit": 1},
    }
    if until:
        body["to"] = until
    answer = run.call("ListDeliveries", body)
    return int(answer.get("pagination", {}).get("totalResult", 0))


def _follow(run: Run, target_id: str, since: str, until: str | None, total: int) -> None:
    """Poll until none of the replayed deliveries is pending (Ctrl-C stops following,
    not the replay)."""
    terminal = sys.stderr.isatty()
    shown = -1
    while True:
        pending = _count_pending(run, target_id, since, until)
        done = max(total - pending, 0)
        if done != shown:
            width = 30
            bar = "#" * (width * done // total if total else width)
            line = f"[{bar:<{width}}] {done}/{total} sent"
            click.echo(f"\r{line}" if terminal else line, err=True, nl=not terminal)
            shown = done
        if pending == 0:
            if terminal:
                click.echo("", err=True)
            return
        time.sleep(POLL_SECONDS)


def _tail(run: Run, op_name: str, rows_key: str, body: dict[str, Any], line: Any) -> None:
    seen: dict[str, Any] = {}
    first = True
    while True:
        answer = run.call(op_name, {**body, "query": {"limit": 100, "asc": False}})
        for row in reversed(answer.get(rows_key, [])):
            state = (row.get("status"), row.get("attempts"), row.get("statusCode"))
            if seen.get(row["id"]) != state:
                if not first or body.get("from"):
                    if output.chosen(run.output) == output.JSON:
                        click.echo(json.dumps(row, ensure_ascii=False))
                    else:
                        click.echo(line(row))
                seen[row["id"]] = state
        if first:
            click.echo(f"Following {rows_key} (Ctrl-C stops)", err=True)
        first = False
        sys.stdout.flush()
        time.sleep(POLL_SECONDS)


def _delivery_line(row: dict[str, Any]) -> str:
    code = row.get("lastStatusCode") or "-"
    return (
        f"{row.get('changeDate', '')}  delivery {row['id']}  {row.get('status', '')}  "
        f"attempts={row.get('attempts', 0)}  status={code}  {row.get('trigger', '')}  "
        f"target={row.get('targetId', '')}"
    )


def _call_line(row: dict[str, Any]) -> str:
    code = row.get("statusCode") or "-"
    error = f"  error={row['error']}" if row.get("error") else ""
    return (
        f"{row.get('callDate', '')}  call {row['id']}  {row.get('kind', '')}  "
        f"{row.get('trigger', '')}  status={code}  {row.get('durationMs', '')} ms  "
        f"target={row.get('targetId', '')}{error}"
    )


def register(main: click.Group) -> None:
    deliveries = main.commands["deliveries"]
    calls = main.commands["calls"]
    assert isinstance(deliveries, click.Group) and isinstance(calls, click.Group)

    @deliveries.command("replay")
    @click.option("--target", "-t", required=True, metavar="TARGET", help="Target id or name.")
    @click.option(
        "--since", required=True, metavar="WHEN", help="Created since: 24h, 30m, 7d or a time."
    )
    @click.option("--until", metavar="WHEN", help="Created before this [now].")
    @click.option(
        "--state",
        type=click.Choice(["all", "failed"]),
        default="all",
        help="Only the failed ones, or all [all].",
    )
    @click.option("--yes", "-y", is_flag=True, help="Do not ask before sending.")
    @click.option(
        "--wait/--no-wait",
        default=None,
        help="Follow the deliveries until none is pending [on a terminal].",
    )
    @common(write=True)
    def replay(
        run: Run,
        target: str,
        since: str,
        until: str | None,
        state: str,
        yes: bool,
        wait: bool | None,
    ) -> None:
        """Send a target's deliveries of a time range again, after saying how many
        (ReplayTargetDeliveries). Each keeps its webhook-id."""
        target_id = run.target_id(target)
        body: dict[str, Any] = {"id": target_id, "from": moment(since)}
        if until:
            body["to"] = moment(until)
        if state == "failed":
            body["onlyFailed"] = True
        count = int(run.call("ReplayTargetDeliveries", {**body, "preview": True})["count"])
        noun = ("failed " if state == "failed" else "") + (
            "delivery" if count == 1 else "deliveries"
        )
        click.echo(f"{count} {noun} of target {target} created since {body['from']} to send again")
        if count == 0:
            return
        if run.dry_run:
            run.write("ReplayTargetDeliveries", body)
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageProblem("not a terminal, so no one can confirm: add --yes to send")
            click.confirm("Send them again?", abort=True)
        answer = run.write("ReplayTargetDeliveries", body)
        assert answer is not None
        replayed = int(answer.get("replayed", 0))
        click.echo(f"{replayed} queued again")
        if wait if wait is not None else sys.stdout.isatty():
            _follow(run, target_id, body["from"], body.get("to"), replayed)

    @deliveries.command("tail")
    @click.option("--target", "-t", metavar="TARGET", help="Only this target's (id or name).")
    @click.option("--since", metavar="WHEN", help="Show rows since then too: 1h, or a time.")
    @common()
    def tail_deliveries(run: Run, target: str | None, since: str | None) -> None:
        """Follow the event deliveries live: a line for each new one or change, until
        Ctrl-C."""
        body: dict[str, Any] = {}
        if target:
            body["targetId"] = run.target_id(target)
        if since:
            body["from"] = moment(since)
        _tail(run, "ListDeliveries", "deliveries", body, _delivery_line)

    @calls.command("tail")
    @click.option("--target", "-t", metavar="TARGET", help="Only this target's (id or name).")
    @click.option("--since", metavar="WHEN", help="Show rows since then too: 1h, or a time.")
    @common()
    def tail_calls(run: Run, target: str | None, since: str | None) -> None:
        """Follow the synchronous target calls live: a line for each new one, until
        Ctrl-C."""
        body: dict[str, Any] = {}
        if target:
            body["targetId"] = run.target_id(target)
        if since:
            body["from"] = moment(since)
        _tail(run, "ListTargetCalls", "calls", body, _call_line)
