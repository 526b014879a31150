"""The composition root: settings in, a wired Keyhook core out.

Creates the data directory and master key, opens the database, applies
migrations, sets the instance up on first start (writing the admin machine user's
PAT to ``<data dir>/admin.pat`` and the human administrator's initial password to
``<data dir>/admin-password``, both mode 0600) and wires the write side, the read side
and the actions engine. The API layer builds its routes on top of :class:`Core`.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from keyhook.actions.calllog import CallLog
from keyhook.actions.catalog import Catalog
from keyhook.actions.engine import ActionsEngine
from keyhook.actions.httpclient import Http11Transport
from keyhook.actions.outbox import Outbox
from keyhook.actions.payload_types import PayloadSealer
from keyhook.actions.relay import RelayHub, RelayTransport
from keyhook.actions.relay_peers import PostgresPeers
from keyhook.actions.transport import Transport
from keyhook.command.cli_client import ensure_cli_client
from keyhook.command.console_client import ConsoleClient, ensure_console_client
from keyhook.command.oidc import OidcCommands
from keyhook.command.oidc_keys import ensure_algorithm_key, ensure_signing_key
from keyhook.command.sessions import SessionCommands
from keyhook.command.setup import KEY_CHECK, set_up_instance
from keyhook.command.users import UserCommands
from keyhook.command.writer import Writer
from keyhook.config import Settings
from keyhook.crypto.passwords import Passwords
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.backoff import ADDRESS, CLIENT, LOGIN, Backoff
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration
from keyhook.domain.netpolicy import NetworkPolicy
from keyhook.domain.retry import RetryPolicy
from keyhook.errors import AlreadyExists, Conflict, Internal
from keyhook.ids import IdGenerator
from keyhook.query.oidc import OidcQueries
from keyhook.query.recent_clients import RecentClients
from keyhook.query.recent_users import RecentUsers
from keyhook.query.targets import TargetQueries
from keyhook.query.users import UserQueries
from keyhook.services.delivery import DeliveryWorker, WorkerConfig
from keyhook.services.oidc import OidcProvider
from keyhook.services.oidc_access import TokenAccess
from keyhook.services.oidc_signer import TokenSigner
from keyhook.services.oidc_tokens import ClientAuthenticator, Lifetimes, TokenMaker
from keyhook.services.retention import Pruner, Retention
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade

log = logging.getLogger("keyhook")


@dataclass
class Core:
    settings: Settings
    db: Database
    writer: Writer
    users: UserCommands
    user_queries: UserQueries
    target_queries: TargetQueries
    engine: ActionsEngine
    calllog: CallLog
    transport: Transport
    delivery_transport: Transport
    admin_token_path: Path
    admin_password_path: Path
    first_start: bool
    outbox: Outbox
    worker: DeliveryWorker | None
    oidc: OidcProvider
    token_access: TokenAccess
    login_csrf_key: bytes
    console: ConsoleClient
    cli_client_id: str  # the command line's OIDC client (command.cli_client)
    box: SecretBox
    relay: RelayHub
    relay_peers: PostgresPeers | None = None
    pruner: Pruner | None = None

    async def start(self) -> None:
        self.calllog.start()
        if self.relay_peers is not None:
            await self.relay_peers.start()
        if self.worker is not None:
            await self.worker.start()
        if self.pruner is not None:
            self.pruner.start()

    async def stop(self) -> None:
        if self.pruner is not None:
            await self.pruner.stop()
        if self.worker is not None:
            await self.worker.stop()
        await self.calllog.stop()
        if self.relay_peers is not None:
            await self.relay_peers.stop()
        await self.transport.close()
        if self.delivery_transport is not self.transport:
            await self.delivery_transport.close()
        await self.db.close()


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


def master_key(settings: Settings) -> bytes:
    """``KEYHOOK_MASTER_KEY`` (base64), else ``<data dir>/master.key``, made on first use."""
    configured = os.environ.get("KEYHOOK_MASTER_KEY")
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise Internal("KEYHOOK_MASTER_KEY must be the base64 of 32 bytes")
        return key
    path = settings.data_dir / "master.key"
    if path.exists():
        return base64.b64decode(path.read_bytes())
    key = SecretBox.generate_key()
    _write_private(path, base64.b64encode(key))
    return key


async def _check_master_key(db: Database, box: SecretBox, settings: Settings) -> None:
    """Refuse to start with a master key that cannot open this instance's secrets."""
    async with db.read() as conn:
        payload = (
            await conn.execute(
                "SELECT payload FROM events WHERE event_type = :event_type",
                {"event_type": "instance.added"},
            )
        ).scalar()
    sealed = orjson.loads(payload).get("sealedKeyCheck") if payload else None
    if sealed is None:
        return
    try:
        opened = box.open(sealed)
    except Exception as exc:
        opened = type(exc).__name__
    if opened != KEY_CHECK:
        source = (
            "KEYHOOK_MASTER_KEY"
            if os.environ.get("KEYHOOK_MASTER_KEY")
            else str(settings.data_dir / "master.key")
        )
        raise Internal(
            f"the master key from {source} is not the key this database was set up with; "
            "every node sharing a database needs the same key: copy master.key from the first "
            "node or set KEYHOOK_MASTER_KEY to it (base64)"
        )


def _private_data_dir(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not settings.database_url:
        database_file = settings.data_dir / "keyhook.db"
        # SQLite gives its -wal and -shm files the mode of the database file.
        os.close(os.open(database_file, os.O_WRONLY | os.O_CREAT, 0o600))


async def _ensure_signing_key(writer: Writer) -> None:
    """Every start: the instance gets a token signing key if it has no active one."""
    async with writer.db.read() as conn:
        row = (await conn.execute("SELECT id, default_org_id FROM instances")).first()
    if row is None:
        return
    system = Caller(
        instance_id=row.id,
        user_id="system",
        org_id=row.default_org_id,
        default_org_id=row.default_org_id,
    )
    kid = await ensure_signing_key(writer, system)
    if kid is not None:
        log.info("created the token signing key %s", kid)


def worker_config(settings: Settings) -> WorkerConfig:
    delivery = settings.delivery
    return WorkerConfig(
        retry=RetryPolicy(
            delays=RetryPolicy.parse(delivery.retry_schedule),
            throttle_min=parse_duration(
                delivery.throttle_min, "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY"
            ),
        ),
        max_concurrency=delivery.max_concurrency,
        target_concurrency=delivery.target_concurrency,
        lease_min=parse_duration(delivery.lease_min, "KEYHOOK_ACTIONS_LEASE"),
        poll_interval=parse_duration(delivery.poll_interval, "KEYHOOK_ACTIONS_POLL_INTERVAL"),
        batch_size=delivery.batch_size,
    )


def auth_backoff(settings: Settings) -> Backoff:
    limits = settings.auth_backoff
    return Backoff(
        {CLIENT: limits.client, LOGIN: limits.login, ADDRESS: limits.address},
        window=parse_duration(limits.window, "KEYHOOK_AUTH_BACKOFF_WINDOW"),
    )


async def assemble(
    settings: Settings, transport: Transport | None = None, with_worker: bool = False
) -> Core:
    # Bad settings stop the start before anything is written.
    lifetimes = Lifetimes.parse(settings.oidc)
    backoff = auth_backoff(settings)
    retention = Retention.parse(settings)
    _private_data_dir(settings)
    box = SecretBox(master_key(settings))
    db = Database(settings.effective_database_url)
    await upgrade(db)
    await _check_master_key(db, box, settings)
    ids = IdGenerator()
    writer = Writer(
        db=db,
        settings=settings,
        passwords=Passwords(settings.password_hashing),
        box=box,
        ids=ids,
        backoff=backoff,
    )
    token_path = settings.data_dir / "admin.pat"
    async with db.read() as conn:
        existing = (await conn.execute("SELECT id FROM instances")).first()
    first_start = existing is None
    password_path = settings.data_dir / "admin-password"
    if first_start:
        setup = await set_up_instance(writer, admin_email=settings.admin_email)
        _write_private(token_path, (setup.admin_token + "\n").encode())
        _write_private(password_path, (setup.admin_password + "\n").encode())
    policy = NetworkPolicy(dev=settings.dev, allow_hosts=settings.allow_hosts)
    # Synchronous calls and deliveries get connection pools of their own, so neither can
    # take the other's connections. Sync calls are bounded per target by the engine;
    # deliveries by the worker's concurrency, which is exactly its pool's size.
    delivery_transport: Transport
    if transport is None:
        transport = Http11Transport(policy, settings.max_response_bytes, limit=0)
        delivery_transport = Http11Transport(
            policy, settings.max_response_bytes, limit=settings.delivery.max_concurrency
        )
    else:  # a test's transport serves both
        delivery_transport = transport
    # Relay targets' calls go to the `keyhook listen` attached; every other call goes to the
    # HTTP transport as before.
    relay = RelayHub(settings.max_response_bytes)
    # On PostgreSQL a listener may be on any node: the database carries calls between them.
    relay_peers = None if db.is_sqlite else PostgresPeers(db, relay, box)
    relay.peers = relay_peers
    relaying = RelayTransport(transport, relay)
    relaying_deliveries = RelayTransport(delivery_transport, relay)
    calllog = CallLog(db, ids)
    catalog = Catalog(db, box)
    outbox = Outbox(db, catalog, ids)
    writer.after_append.append(outbox.enqueue_events)
    # The OIDC provider's signer also signs JWT and JWE payloads (the JWKS at /oauth/v2/keys).
    signer = TokenSigner(db, box)
    sealer = PayloadSealer(signer)
    engine = ActionsEngine(
        catalog, relaying, calllog, policy, outbox, settings.target_sync_concurrency, sealer
    )
    worker = None
    if settings.delivery.worker or with_worker:
        worker = DeliveryWorker(
            writer, catalog, relaying_deliveries, policy, ids, worker_config(settings), sealer
        )
        outbox.wake = worker.wake
        outbox.handoff = worker
    # After the outbox is wired, so event executions see a key created on a later start.
    await _ensure_signing_key(writer)
    oidc_queries = OidcQueries(db)
    recent_users = RecentUsers(oidc_queries, db)
    writer.after_append.append(recent_users.forget)
    recent_clients = RecentClients(oidc_queries, db)
    writer.after_append.append(recent_clients.forget)
    oidc = OidcProvider(
        db,
        OidcCommands(writer),
        SessionCommands(writer),
        oidc_queries,
        TokenMaker(
            settings.base_url.rstrip("/"),
            lifetimes,
            engine,
            signer,
            ids,
            settings.oidc.access_token_form,
        ),
        ClientAuthenticator(
            oidc_queries, recent_users, recent_clients, writer.passwords, writer.backoff
        ),
        writer.passwords,
    )
    system = await oidc.system_caller()

    async def make_key(algorithm: str) -> str:
        # An ID token in an algorithm no key of the instance has (keyhook.services.oidc_signer).
        return await ensure_algorithm_key(writer, system, algorithm)

    signer.make_key = make_key
    try:
        console = await ensure_console_client(writer, system, settings.base_url.rstrip("/"))
    except (AlreadyExists, Conflict):  # another node made or changed it at the same moment
        console = await ensure_console_client(writer, system, settings.base_url.rstrip("/"))
    try:
        cli_client_id = await ensure_cli_client(writer, system)
    except (AlreadyExists, Conflict):  # another node made it at the same moment
        cli_client_id = await ensure_cli_client(writer, system)
    return Core(
        settings=settings,
        db=db,
        writer=writer,
        users=UserCommands(writer),
        user_queries=UserQueries(db),
        target_queries=TargetQueries(db, box),
        engine=engine,
        calllog=calllog,
        transport=transport,
        delivery_transport=delivery_transport,
        admin_token_path=token_path,
        admin_password_path=password_path,
        first_start=first_start,
        outbox=outbox,
        worker=worker,
        oidc=oidc,
        token_access=TokenAccess(oidc, signer),
        login_csrf_key=box.derive("login csrf"),
        console=console,
        cli_client_id=cli_client_id,
        box=box,
        relay=relay,
        relay_peers=relay_peers,
        # Pruning runs where deliveries are worked on: one switch for background work.
        pruner=Pruner(db, retention) if worker is not None else None,
    )
