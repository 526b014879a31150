"""Seeding a Keyhook database for the scale benchmarks (issue 9, goal 5), fast.

``python bench/seed_scale.py --data-dir DIR [--database-url URL] [--events N
--users N --deliveries N --calls N]`` fills a *new* data dir (and database) with,
by default, 1,000,000 events, 100,000 users, 100,000 finished deliveries and
100,000 records of synchronous target calls; :func:`seed` does the same from
Python. Every count is the number of rows its table holds afterwards (events,
users, deliveries, execution_calls), the instance's own rows included.

Fidelity comes from the real server, speed from the raw drivers, in four steps:

1. **Templates.** The real server (``keyhook.bootstrap.assemble`` and the ASGI
   application, served by uvicorn in this process) sets the instance up (writing
   ``admin.pat`` and ``master.key`` into the data dir) and, through its HTTP API,
   creates a ``restWebhook`` target on a receiver in this process, an event
   execution on ``user.human.changed`` and a request execution on GetUserByID,
   then one human user whose profile is changed (the worker delivers that event
   to the receiver), whose metadata is set, and who is read once (the request
   execution calls the target; the call log records it).
2. **Read back** every row that produced: the user's events, ``users``,
   ``user_metadata``, ``unique_constraints``, the delivery and its attempt, the
   call record.
3. **Clone** them with the raw drivers (``sqlite3`` ``executemany`` with
   ``synchronous=OFF`` in large transactions; asyncpg ``COPY`` on PostgreSQL):
   new users (``user.human.added``, their user-name claims and ``users`` rows);
   profile changes (``user.human.changed``), one finished delivery each, with its
   attempt and the payload the outbox would have encoded for it; metadata changes
   (``user.metadata.set`` over five keys, so ``user_metadata`` holds each user's
   latest values) to reach the event count; call records. Each user's events get
   consecutive sequences and the ``users`` row the last one, so a command on a
   seeded user appends the next. Timestamps and ids come from the clock as the
   rows are made, as the server's would: positions, ids and times rise together,
   none lies in the future and none is old enough for the retention to prune.
   On PostgreSQL the events' position sequence is moved past the last position
   and the database is vacuumed and analysed: what autovacuum does soon after so
   many inserts (statistics, and the visibility map index-only scans need), done
   at once so a benchmark right after the seed does not depend on its timing.
4. **Finish** on the real server again: both executions are removed through the
   API (their target and its history stay), so the benchmarks that follow
   start with no execution of the seed's and no dead target in any path.

The database must be new and no other process may write to it meanwhile (the
positions of the cloned events are chosen by this script).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvicorn
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keyhook.actions.wire import encode_body
from keyhook.api.server import application
from keyhook.bootstrap import assemble
from keyhook.clock import iso
from keyhook.config import from_environment
from keyhook.domain.payload import event_payload
from keyhook.ids import IdGenerator
from keyhook.storage.connection import BOOLEAN_COLUMNS, TIMESTAMP_COLUMNS, Row, sqlite_time
from keyhook.storage.database import Database
from keyhook.storage.schema import metadata as schema
from keyhook.storage.target_stats import rebuild_sql

# The tables the scale bench's claims are about, and every table the seed writes.
COUNTED_TABLES = ("events", "users", "deliveries", "execution_calls")
WRITTEN_TABLES = (
    "events",
    "unique_constraints",
    "users",
    "user_metadata",
    "deliveries",
    "delivery_attempts",
    "execution_calls",
)
TEMPLATE_USER_NAME = "user0000000"
CHANGED_EVENT = "user.human.changed"
CALL_METHOD = "/zitadel.user.v2.UserService/GetUserByID"
EXECUTIONS = (
    {"event": {"event": CHANGED_EVENT}},
    {"request": {"method": CALL_METHOD}},
)
METADATA_KEYS = ("department", "costCenter", "employeeId", "location", "manager")
GIVEN_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
FAMILY_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
CHUNK_USERS = 10_000  # users per transaction, with their events, deliveries and calls


@dataclass(frozen=True)
class Counts:
    """Rows each table holds once the seed is done (the instance's own included)."""

    events: int = 1_000_000
    users: int = 100_000
    deliveries: int = 100_000
    calls: int = 100_000


@dataclass
class SeedReport:
    counts: Counts
    database: str
    written: dict[str, int]  # rows the bulk step wrote, per table
    tables: dict[str, int]  # rows per table at the end (count(*))
    seconds: dict[str, float] = field(default_factory=dict)  # per step

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def summary(self) -> str:
        lines = [f"seeded {self.database} in {self.total_seconds:.1f} s"]
        lines += [f"  {step}: {seconds:.1f} s" for step, seconds in self.seconds.items()]
        lines.append("rows per table (written by the bulk step / held at the end):")
        lines += [
            f"  {name}: {self.written.get(name, 0):,} / {self.tables[name]:,}"
            for name in sorted(self.tables)
        ]
        return "\n".join(lines)


# --- step 1: templates, written by the real server ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _receiver() -> AsyncIterator[str]:
    """A receiver in this process that accepts every call; yields its /hook URL."""

    async def accept(_: web.Request) -> web.Response:
        return web.json_response({"status": "success"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


class _Api:
    """The real server, in this process, and an admin client for its HTTP API."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        async with self.session.request(
            method, self.base + path, data=data, headers=self.headers
        ) as response:
            answer = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{method} {path}: {response.status} {answer[:300]!r}")
        return orjson.loads(answer)


@contextlib.asynccontextmanager
async def _server(data_dir: Path, database_url: str | None) -> AsyncIterator[_Api]:
    port = _free_port()
    # The address the other starts of the seeded data dir (and its tests) name by default,
    # so the console client's redirect URI (keyhook.command.console_client) stays as it is
    # and no start adds an event the counts do not expect.
    settings = from_environment(
        {"KEYHOOK_EXTERNAL_URL": "http://127.0.0.1:8080"},
        data_dir=data_dir,
        database_url=database_url or "",
        dev=True,
        port=port,
    )
    core = await assemble(settings)
    config = uvicorn.Config(
        application(core),
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
                raise RuntimeError("the in-process server stopped before it started")
            await asyncio.sleep(0.01)
        token = (data_dir / "admin.pat").read_text().strip()
        async with aiohttp.ClientSession() as session:
            yield _Api(session, f"http://127.0.0.1:{port}", token)
    finally:
        server.should_exit = True
        await serving  # the lifespan's end stops the core (worker, call log, database)


async def _wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def _write_templates(data_dir: Path, database_url: str | None) -> str:
    """Step 1; returns the template user's id."""
    async with _receiver() as hook, _server(data_dir, database_url) as api:
        users = await api.call("POST", "/v2/users/search", {"query": {"limit": 10}})
        # A new instance has its two first administrators (the machine and the human one).
        if int(users["details"]["totalResult"]) != 2:
            raise RuntimeError("the seed needs a new data dir and database (this one has users)")
        target = await api.call(
            "POST",
            "/v2/actions/targets",
            {
                "name": "seed-receiver",
                "endpoint": hook,
                "timeout": "5s",
                "restWebhook": {"interruptOnError": False},
            },
        )
        for condition in EXECUTIONS:
            await api.call(
                "PUT", "/v2/actions/executions", {"condition": condition, "targets": [target["id"]]}
            )
        given, family = GIVEN_NAMES[0], FAMILY_NAMES[0]
        user = await api.call(
            "POST",
            "/v2/users/human",
            {
                "user": {
                    "userName": TEMPLATE_USER_NAME,
                    "profile": {"givenName": given, "familyName": family},
                    "email": {"email": f"{TEMPLATE_USER_NAME}@seed.example.com"},
                }
            },
        )
        user_id = user["userId"]
        changed = GIVEN_NAMES[1]
        await api.call(
            "PUT",
            f"/v2/users/human/{user_id}",
            {"profile": {"givenName": changed, "displayName": f"{changed} {family}"}},
        )
        await api.call(
            "POST",
            f"/v2/users/{user_id}/metadata",
            {"metadata": [{"key": METADATA_KEYS[0], "value": "v0"}]},
        )
        await api.call("GET", f"/v2/users/{user_id}")

        async def delivered() -> bool:
            found = await api.call(
                "POST",
                "/v2/actions/deliveries/search",
                {"targetId": target["id"], "status": "succeeded", "query": {"limit": 1}},
            )
            return int(found["pagination"]["totalResult"]) == 1

        async def call_recorded() -> bool:
            found = await api.call("POST", "/v2/actions/calls/search", {"query": {"limit": 1}})
            return int(found["pagination"]["totalResult"]) == 1

        await _wait_until(delivered, "the template delivery")
        await _wait_until(call_recorded, "the template call record")
    return str(user_id)


async def _remove_executions(data_dir: Path, database_url: str | None) -> None:
    """Step 4: the seed's executions removed through the real API."""
    async with _server(data_dir, database_url) as api:
        for condition in EXECUTIONS:
            await api.call("PUT", "/v2/actions/executions", {"condition": condition, "targets": []})


# --- step 2: reading the templates back ----------------------------------------------------


@dataclass
class Templates:
    instance_id: str
    org_id: str
    events: dict[str, Row]  # by event type: the template user's added, changed, metadata
    user: Row
    claim: Row
    delivery: Row
    attempt: Row
    call: Row
    next_position: int
    tables: dict[str, int]  # rows per table after step 1


async def _count_tables(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        return {
            name: int((await conn.execute(f"SELECT count(*) FROM {name}")).scalar_one())  # noqa: S608 - constant names
            for name in WRITTEN_TABLES
        }


async def _read_templates(db: Database, user_id: str) -> Templates:
    async with db.read() as conn:

        async def one(sql: str, **params: Any) -> Row:
            return (await conn.execute(sql, params)).one()

        user = await one("SELECT * FROM users WHERE id = :id", id=user_id)
        events = {
            row.event_type: row
            for row in await conn.execute(
                "SELECT * FROM events WHERE aggregate_type = 'user' AND aggregate_id = :id "
                "ORDER BY sequence",
                {"id": user_id},
            )
        }
        if sorted(events) != sorted(("user.human.added", CHANGED_EVENT, "user.metadata.set")):
            raise RuntimeError(f"unexpected template events: {sorted(events)}")
        claim = await one(
            "SELECT * FROM unique_constraints WHERE unique_type = 'user_name' "
            "AND unique_field = :field",
            field=f"{user.org_id}:{TEMPLATE_USER_NAME}",
        )
        delivery = await one(
            "SELECT * FROM deliveries WHERE event_position = :position",
            position=events[CHANGED_EVENT].position,
        )
        attempt = await one(
            "SELECT * FROM delivery_attempts WHERE delivery_id = :id", id=delivery.id
        )
        call = await one("SELECT * FROM execution_calls")
        last = int((await conn.execute("SELECT max(position) FROM events")).scalar_one())
    templates = Templates(
        instance_id=user.instance_id,
        org_id=user.org_id,
        events=events,
        user=user,
        claim=claim,
        delivery=delivery,
        attempt=attempt,
        call=call,
        next_position=last + 1,
        tables=await _count_tables(db),
    )
    # The clones' delivery bodies are made as the outbox makes them: check that on the
    # template, so a change in the outbox's encoding cannot make the seed drift from it.
    # The clones' bodies have the template's members, all strings, only other text in
    # them: for such bodies encode_body's JavaScript ordering changes nothing (it moves
    # integer-like keys and rewrites floats), so they are made with orjson.dumps alone.
    body = _delivery_payload(events[CHANGED_EVENT])
    if encode_body(body).decode() != delivery.payload:
        raise RuntimeError("the outbox's delivery body differs from the one the seed would make")
    if orjson.dumps(body) != encode_body(body) or not _only_strings(body):
        raise RuntimeError("the delivery body needs encode_body's ordering; use it per row")
    return templates


def _delivery_payload(event: Row) -> dict[str, Any]:
    return event_payload(
        event_type=event.event_type,
        position=event.position,
        sequence=event.sequence,
        created_at=iso(event.created_at),
        instance_id=event.instance_id,
        resource_owner=event.resource_owner,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        creator=event.creator,
        data=orjson.loads(event.payload),
    )


def _only_strings(value: Any) -> bool:
    """Whether every leaf of ``value`` is a string and no key looks like an index."""
    if isinstance(value, dict):
        return all(not k.isdigit() and _only_strings(v) for k, v in value.items())
    return isinstance(value, str)


# --- step 3: cloning -------------------------------------------------------------------------


class _Clock:
    """Now in microseconds since the epoch, rising by at least one per reading."""

    def __init__(self) -> None:
        self.last = time.time_ns() // 1000

    def tick(self) -> int:
        moment = time.time_ns() // 1000
        if moment <= self.last:
            moment = self.last + 1
        self.last = moment
        return moment


class _Stamps:
    """A clock reading as the driver takes a timestamp: text on SQLite (what
    :func:`~keyhook.storage.connection.sqlite_time` writes), an aware datetime on
    PostgreSQL. Two million of them are made, so each second is formatted once."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._texts: dict[int, str] = {}  # whole seconds, SQLite's form
        self._moments: dict[int, datetime] = {}  # whole seconds, PostgreSQL's

    @staticmethod
    def moment(microseconds: int) -> datetime:
        return datetime.fromtimestamp(microseconds // 1_000_000, UTC).replace(
            microsecond=microseconds % 1_000_000
        )

    def __call__(self, microseconds: int) -> str | datetime:
        second, fraction = divmod(microseconds, 1_000_000)
        if self.sqlite:
            text = self._texts.get(second)
            if text is None:
                text = self._texts[second] = sqlite_time(self.moment(second * 1_000_000))[:19]
            return f"{text}.{fraction:06d}"
        moment = self._moments.get(second)
        if moment is None:
            moment = self._moments[second] = self.moment(second * 1_000_000)
        return moment.replace(microsecond=fraction)


def _columns(table: str) -> list[str]:
    return [column.name for column in schema.tables[table].columns]


class _Rows:
    """Rows of one table in its column order, cloned from a template row.

    Values are kept as the driver takes them: on SQLite timestamps become text and
    booleans integers (what :class:`~keyhook.storage.connection.SqliteConnection`
    writes), on PostgreSQL they stay as they are.
    """

    def __init__(self, table: str, template: Row, stamps: _Stamps) -> None:
        self.table = table
        self.columns = _columns(table)
        self.index = {name: i for i, name in enumerate(self.columns)}
        self.stamp = stamps
        self.times = TIMESTAMP_COLUMNS.intersection(self.columns)
        self.base = [
            _sqlite_value(name, template[name]) if stamps.sqlite else template[name]
            for name in self.columns
        ]
        self.rows: list[list[Any]] = []

    def add(self, **values: Any) -> None:
        """A row like the template's but for ``values`` (timestamps as clock readings)."""
        row = self.base.copy()
        for name, value in values.items():
            row[self.index[name]] = self.stamp(value) if name in self.times else value
        self.rows.append(row)

    def new(self) -> list[Any]:
        """A copy of the template row, added; for the hottest paths, which set the
        values themselves by :attr:`index` (timestamps through :attr:`stamp`)."""
        row = self.base.copy()
        self.rows.append(row)
        return row


def _sqlite_value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return sqlite_time(value)
    if name in BOOLEAN_COLUMNS and value is not None:
        return int(value)
    return value


def _microseconds(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _share(total: int, parts: int, index: int) -> int:
    """Item ``index``'s share when ``total`` items are spread as evenly as can be."""
    return total // parts + (1 if index < total % parts else 0)


@dataclass
class _Plan:
    users: int  # new users
    changes: int  # new profile changes, one delivery each
    metadata: int  # new metadata events
    calls: int  # new call records
    chunk: int = CHUNK_USERS


def _plan(counts: Counts, templates: Templates) -> _Plan:
    have = templates.tables
    # Step 4 appends one execution.removed per execution.
    events_left = counts.events - have["events"] - len(EXECUTIONS)
    users = counts.users - have["users"]
    changes = counts.deliveries - have["deliveries"]
    calls = counts.calls - have["execution_calls"]
    metadata = events_left - users - changes
    floor = {
        "users": have["users"],
        "deliveries": have["deliveries"],
        "calls": have["execution_calls"],
    }
    for name, least in floor.items():
        if getattr(counts, name) < least:
            raise ValueError(f"--{name} must be at least {least}")
    if users == 0 and (changes or metadata):
        raise ValueError(
            f"deliveries and extra events need seeded users (--users above {have['users']})"
        )
    if metadata < 0:
        least = have["events"] + len(EXECUTIONS) + users + changes
        raise ValueError(f"--events must be at least {least} for these users and deliveries")
    return _Plan(users=users, changes=changes, metadata=metadata, calls=calls)


class _Cloner:
    def __init__(self, templates: Templates, sqlite: bool) -> None:
        self.t = templates
        self.clock = _Clock()
        self.stamps = _Stamps(sqlite)
        sample = self.clock.last
        expected = sqlite_time(_Stamps.moment(sample)) if sqlite else _Stamps.moment(sample)
        if self.stamps(sample) != expected:
            raise RuntimeError("the seed's timestamps differ from the storage layer's")
        self.ids = IdGenerator()
        self.position = templates.next_position
        self.random = random.Random(9)  # durations vary like real ones, the same every run
        self.event_data = {k: orjson.loads(v.payload) for k, v in templates.events.items()}
        changed = self.event_data[CHANGED_EVENT]["changed"]
        if sorted(changed) != ["displayName", "givenName"]:
            raise RuntimeError(f"unexpected template profile change: {sorted(changed)}")
        d, a = templates.delivery, templates.attempt
        # When, after its event, the template delivery was attempted and recorded.
        self.attempt_after = _microseconds(a.attempted_at - d.created_at)
        self.updated_after = _microseconds(d.updated_at - d.created_at)
        self.next_after = _microseconds(d.next_attempt_at - d.created_at)

    def _tables(self) -> dict[str, _Rows]:
        t = self.t
        return {
            "events": _Rows("events", t.events["user.human.added"], self.stamps),
            "unique_constraints": _Rows("unique_constraints", t.claim, self.stamps),
            "users": _Rows("users", t.user, self.stamps),
            "user_metadata": _Rows(
                "user_metadata",
                Row(user_id=t.user.id, key=METADATA_KEYS[0], value="v0"),
                self.stamps,
            ),
            "deliveries": _Rows("deliveries", t.delivery, self.stamps),
            "delivery_attempts": _Rows("delivery_attempts", t.attempt, self.stamps),
            "execution_calls": _Rows("execution_calls", t.call, self.stamps),
        }

    def _event(
        self, rows: _Rows, event_type: str, user_id: str, sequence: int, data: dict[str, Any]
    ) -> tuple[int, int, str]:
        position, at = self.position, self.clock.tick()
        self.position += 1
        payload = orjson.dumps(data).decode()  # as the event store encodes it
        row, index = rows.new(), rows.index
        row[index["position"]] = position
        row[index["aggregate_id"]] = user_id
        row[index["sequence"]] = sequence
        row[index["event_type"]] = event_type
        row[index["created_at"]] = rows.stamp(at)
        row[index["payload"]] = payload
        return position, at, payload

    def chunk(self, plan: _Plan, first: int, last: int) -> dict[str, _Rows]:
        """Users ``first`` up to ``last`` (exclusive) of the plan, with everything theirs:
        their events in the order a day of use would write them (created, then profile
        changes, then metadata, round by round), deliveries, attempts and call records."""
        t, tables = self.t, self._tables()
        events = tables["events"]
        added = self.event_data["user.human.added"]
        users: list[dict[str, Any]] = []
        for n in range(first, last):
            number = n + 1  # the template user is number 0
            user_name = f"user{number:07d}"
            given = GIVEN_NAMES[number % len(GIVEN_NAMES)]
            family = FAMILY_NAMES[number // len(GIVEN_NAMES) % len(FAMILY_NAMES)]
            user_id = self.ids.new()
            data = {
                **added,
                "userId": user_id,
                "userName": user_name,
                "givenName": given,
                "familyName": family,
                "displayName": f"{given} {family}",
                "email": f"{user_name}@seed.example.com",
            }
            _, at, _ = self._event(events, "user.human.added", user_id, 1, data)
            tables["unique_constraints"].add(unique_field=f"{t.org_id}:{user_name.lower()}")
            users.append(
                {
                    "id": user_id,
                    "user_name": user_name,
                    "given_name": given,
                    "family_name": family,
                    "display_name": f"{given} {family}",
                    "email": data["email"],
                    "sequence": 1,
                    "created_at": at,
                    "changed_at": at,
                    "changes": _share(plan.changes, plan.users, n),
                    "metadata": _share(plan.metadata, plan.users, n),
                    "values": {},
                }
            )
        self._changes(tables, users)
        self._metadata(tables, users)
        for user in users:
            values = user.pop("values")
            user.pop("changes")
            user.pop("metadata")
            tables["users"].add(**user)
            metadata = tables["user_metadata"]
            for key, value in values.items():
                row = metadata.new()
                row[metadata.index["user_id"]] = user["id"]
                row[metadata.index["key"]] = key
                row[metadata.index["value"]] = value
        calls = _share_of_range(plan.calls, plan.users, first, last)
        for _ in range(calls):
            tables["execution_calls"].add(
                id=self.ids.new(),
                created_at=self.clock.tick(),
                duration_ms=t.call.duration_ms * self.random.uniform(0.7, 1.5),
            )
        return tables

    def _changes(self, tables: dict[str, _Rows], users: list[dict[str, Any]]) -> None:
        template = self.event_data[CHANGED_EVENT]
        rounds = max((u["changes"] for u in users), default=0)
        for round_no in range(rounds):
            for user in users:
                if user["changes"] <= round_no:
                    continue
                given = f"{user['given_name'].split('-')[0]}-{round_no + 1}"
                display = f"{given} {user['family_name']}"
                user["sequence"] += 1
                data = {
                    **template,
                    "userId": user["id"],
                    "userName": user["user_name"],
                    "changed": {"givenName": given, "displayName": display},
                }
                position, at, payload = self._event(
                    tables["events"], CHANGED_EVENT, user["id"], user["sequence"], data
                )
                user.update(given_name=given, display_name=display, changed_at=at)
                self._delivery(tables, user["id"], user["sequence"], position, at, payload)

    def _delivery(
        self,
        tables: dict[str, _Rows],
        user_id: str,
        sequence: int,
        position: int,
        at: int,
        payload: str,
    ) -> None:
        t = self.t
        # orjson.dumps is encode_body here: the template's body showed it (see __init__).
        body = orjson.dumps(
            event_payload(
                event_type=CHANGED_EVENT,
                position=position,
                sequence=sequence,
                created_at=iso(_Stamps.moment(at)),
                instance_id=t.instance_id,
                resource_owner=t.org_id,
                aggregate_type="user",
                aggregate_id=user_id,
                creator=t.events[CHANGED_EVENT].creator,
                data=orjson.loads(payload),
            )
        ).decode()
        delivery_id = self.ids.new()
        tables["deliveries"].add(
            id=delivery_id,
            event_position=position,
            payload=body,
            next_attempt_at=at + self.next_after,
            created_at=at,
            updated_at=at + self.updated_after,
        )
        tables["delivery_attempts"].add(
            id=self.ids.new(),
            delivery_id=delivery_id,
            attempted_at=at + self.attempt_after,
            duration_ms=t.attempt.duration_ms * self.random.uniform(0.7, 1.5),
        )

    def _metadata(self, tables: dict[str, _Rows], users: list[dict[str, Any]]) -> None:
        template = self.event_data["user.metadata.set"]
        rounds = max((u["metadata"] for u in users), default=0)
        for round_no in range(rounds):
            key = METADATA_KEYS[round_no % len(METADATA_KEYS)]
            for user in users:
                if user["metadata"] <= round_no:
                    continue
                value = f"{key}-{round_no // len(METADATA_KEYS)}-{user['user_name']}"
                user["sequence"] += 1
                data = {
                    **template,
                    "userId": user["id"],
                    "userName": user["user_name"],
                    "key": key,
                    "value": value,
                }
                _, at, _ = self._event(
                    tables["events"], "user.metadata.set", user["id"], user["sequence"], data
                )
                user["values"][key] = value
                user["changed_at"] = at


def _share_of_range(total: int, parts: int, first: int, last: int) -> int:
    """How many of ``total`` items fall to parts ``first`` up to ``last`` (exclusive)."""
    return total * last // parts - total * first // parts


# What the projections keep beside the rows they write (keyhook.command.row_counts):
# each chunk adds its users to the instance's total in the same transaction.
_ROW_COUNTED = ("users",)
_ADD_TO_TOTAL = (
    "INSERT INTO row_counts (instance_id, table_name, slot, row_count) VALUES ({}, {}, 0, {}) "
    "ON CONFLICT (instance_id, table_name, slot) "
    "DO UPDATE SET row_count = row_counts.row_count + excluded.row_count"
)


def _totals(tables: dict[str, _Rows]) -> list[tuple[str, str, int]]:
    """(instance, table, rows added) for the counted tables of one chunk."""
    added: dict[tuple[str, str], int] = {}
    for rows in tables.values():
        if rows.table in _ROW_COUNTED and rows.rows:
            at = rows.index["instance_id"]
            for row in rows.rows:
                key = (row[at], rows.table)
                added[key] = added.get(key, 0) + 1
    return [(instance, table, n) for (instance, table), n in added.items()]


class _SqliteWriter:
    """Big transactions, ``synchronous=OFF`` while seeding (the data can be made again)."""

    def __init__(self, path: str) -> None:
        self.raw = sqlite3.connect(path, isolation_level=None)
        self.raw.execute("PRAGMA journal_mode=WAL")
        self.raw.execute("PRAGMA synchronous=OFF")
        self.raw.execute("PRAGMA cache_size=-512000")  # 500 MB: indexes stay in memory

    async def write(self, tables: dict[str, _Rows]) -> None:
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            for rows in tables.values():
                if rows.rows:
                    names = ", ".join(f'"{c}"' for c in rows.columns)
                    marks = ", ".join("?" for _ in rows.columns)
                    self.raw.executemany(
                        f"INSERT INTO {rows.table} ({names}) VALUES ({marks})",  # noqa: S608 - schema names
                        rows.rows,
                    )
            self.raw.executemany(_ADD_TO_TOTAL.format("?", "?", "?"), _totals(tables))
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    async def recount(self) -> None:
        self.raw.execute("BEGIN IMMEDIATE")
        self.raw.execute("DELETE FROM target_stats")
        self.raw.execute(rebuild_sql(sqlite=True))
        self.raw.execute("COMMIT")

    async def finish(self) -> None:
        self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.raw.close()


class _PostgresWriter:
    """``COPY`` per table, one transaction per chunk."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @classmethod
    async def connect(cls, dsn: str) -> _PostgresWriter:
        import asyncpg

        raw = await asyncpg.connect(dsn)
        # Commits need not wait for the disk while seeding: the data can be made again.
        await raw.execute("SET synchronous_commit = off")
        return cls(raw)

    async def write(self, tables: dict[str, _Rows]) -> None:
        async with self.raw.transaction():
            for rows in tables.values():
                if rows.rows:
                    await self.raw.copy_records_to_table(
                        rows.table, records=rows.rows, columns=rows.columns
                    )
            await self.raw.executemany(_ADD_TO_TOTAL.format("$1", "$2", "$3"), _totals(tables))

    async def recount(self) -> None:
        async with self.raw.transaction():
            await self.raw.execute("DELETE FROM target_stats")
            await self.raw.execute(rebuild_sql(sqlite=False))

    async def finish(self) -> None:
        # The positions were chosen here; the next event the server appends follows them.
        await self.raw.execute(
            "SELECT setval(pg_get_serial_sequence('events', 'position'), "
            "(SELECT max(position) FROM events))"
        )
        await self.raw.execute("VACUUM (ANALYZE)")
        await self.raw.close()


async def _clone(
    db: Database, templates: Templates, plan: _Plan, seconds: dict[str, float]
) -> dict[str, int]:
    writer: _SqliteWriter | _PostgresWriter
    if db.is_sqlite:
        writer = _SqliteWriter(db.sqlite_path)
    else:
        writer = await _PostgresWriter.connect(db.postgres_dsn)
    cloner = _Cloner(templates, db.is_sqlite)
    written = dict.fromkeys(WRITTEN_TABLES, 0)

    # One chunk after the other, made and written in this thread. Making the next chunk
    # in a thread while one is written was slower on both engines (measured): the two
    # threads take turns on the GIL, and the writer waits for it after every statement.
    started = time.perf_counter()
    try:
        for first in range(0, plan.users, plan.chunk):
            tables = cloner.chunk(plan, first, min(plan.users, first + plan.chunk))
            await writer.write(tables)
            for name, rows in tables.items():
                written[name] += len(rows.rows)
        seconds["bulk clone (rows made and written)"] = time.perf_counter() - started
        # The targets' hourly counters, recounted from every call and attempt cloned (the
        # server counts as it writes; the clone wrote around it).
        started = time.perf_counter()
        await writer.recount()
        seconds["target_stats recounted"] = time.perf_counter() - started
    finally:
        started = time.perf_counter()
        await writer.finish()
        seconds["checkpoint (SQLite) / setval, vacuum and analyse (PostgreSQL)"] = (
            time.perf_counter() - started
        )
    return written


# --- all of it --------------------------------------------------------------------------


async def seed(data_dir: Path, database_url: str | None, counts: Counts) -> SeedReport:
    """Fill a new data dir (and database) with ``counts``; see the module's docstring."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    user_id = await _write_templates(data_dir, database_url)
    seconds["templates (real server)"] = time.perf_counter() - started
    settings = from_environment({}, data_dir=data_dir, database_url=database_url or "")
    db = Database(settings.effective_database_url)
    try:
        templates = await _read_templates(db, user_id)
        plan = _plan(counts, templates)
    finally:
        await db.close()
    written = await _clone(db, templates, plan, seconds)
    started = time.perf_counter()
    await _remove_executions(data_dir, database_url)
    seconds["finish (real server)"] = time.perf_counter() - started
    db = Database(settings.effective_database_url)
    try:
        tables = await _count_tables(db)
    finally:
        await db.close()
    return SeedReport(
        counts=counts,
        database="SQLite" if db.is_sqlite else "PostgreSQL",
        written=written,
        tables=tables,
        seconds=seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    defaults = Counts()
    parser.add_argument("--events", type=int, default=defaults.events)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--deliveries", type=int, default=defaults.deliveries)
    parser.add_argument("--calls", type=int, default=defaults.calls)
    args = parser.parse_args(argv)
    counts = Counts(args.events, args.users, args.deliveries, args.calls)
    report = asyncio.run(seed(args.data_dir, args.database_url, counts))
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
