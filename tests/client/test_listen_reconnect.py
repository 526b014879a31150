"""``keyhook listen`` survives a server restart: it reconnects with backoff and the
relay target's calls reach the local receiver again; ``--print-body`` shows both
bodies."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.client.conftest import ListenProcess
from tests.support.api import Api
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"


async def test_listen_reconnects_after_a_server_restart_and_prints_bodies(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = KeyhookServer(data_dir=tmp_path / "restarted")
    await server.start()
    name, path = f"laptop-{secrets.token_hex(3)}", f"/again-{secrets.token_hex(3)}"
    hook = receiver.endpoint(path, answer(200, {"query": {"limit": 7}}))
    cli = ListenProcess(
        server.url, server.token, ["--target", name, "--forward-to", hook, "--print-body"]
    )
    api = Api(server.url, server.token)
    try:
        await cli.start()
        target = (await api.post("/v2/actions/targets/search", {"name": name})).ok()["targets"][0]
        await api.set_execution({"request": {"method": LIST_USERS}}, [target["id"]])
        assert (await api.post("/v2/users/search", {})).status == 200

        await server.stop(drop=False)
        await cli.wait_for("Reconnecting in")
        await server.start()  # the same port and data directory
        await cli.wait_for("Ready: ", count=2)
        assert (await api.post("/v2/users/search", {})).status == 200
        assert len(receiver.on(path)) == 2
        lines = await cli.wait_for(f"request  {LIST_USERS}  →", count=2)
        assert all("→ 200" in line for line in lines)
        sent = await cli.wait_for("  sent:     ", count=2)
        assert f'"fullMethod":"{LIST_USERS}"' in sent[0]
        assert '"limit":7' in (await cli.wait_for("  answered: "))[0]
        assert "Traceback" not in cli.output
    finally:
        await cli.stop()
        await api.close()
        await server.stop()
