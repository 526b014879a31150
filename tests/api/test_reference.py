"""docs/api.md's list of services and operations is what the server serves."""

from __future__ import annotations

from pathlib import Path

from keyhook.api.reference import BEGIN, END, operations_markdown, replace_block
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment

API_MD = Path(__file__).parents[2] / "docs" / "api.md"


async def test_docs_api_md_lists_every_operation_the_server_routes(tmp_path: Path) -> None:
    core = await assemble(from_environment({}, data_dir=tmp_path))
    try:
        registry = build_registry(core)
    finally:
        await core.stop()
    generated = operations_markdown(registry)
    page = API_MD.read_text()
    assert page.count(BEGIN) == 1 and page.count(END) == 1
    assert replace_block(page, generated) == page, (
        "docs/api.md is out of date: put the output of `keyhook operations-doc` between its markers"
    )
    for op in registry:
        assert f"| `{op.name}` |" in generated
    assert f"{len(registry.services())} services, {len(list(registry))} operations" in generated
