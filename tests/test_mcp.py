"""`fuente serve-mcp` over stdio, through the official MCP SDK's client: tools `search` and `ask` as the key's user."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from rag import api_keys
from tests.test_api import DIETA, SALARY, service_env, service_home

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> dict[str, Any]:
    settings, keys = service_home(tmp_path_factory.mktemp("mcp"), embedder)
    return {"settings": settings, "keys": keys}


def call(env: dict[str, str], key: str, steps: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    """Start `fuente serve-mcp` as an MCP client would, list its tools, make the calls; the tools and results."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "fuente"), args=["serve-mcp"], env={**env, "FUENTE_API_KEY": key}
    )

    async def main() -> tuple[list[str], list[Any]]:
        async with Client(params, read_timeout_seconds=300) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            return tools, [await client.call_tool(name, args) for name, args in steps]

    return anyio.run(main)


def payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)  # type: ignore[no-any-return]


def test_search_tool_acts_as_the_key_user(home: dict[str, Any], llama_server: dict[str, Any]) -> None:
    env = service_env(home["settings"], llama_server)
    tools, (outsider,) = call(env, home["keys"]["luis"], [("search", {"query": SALARY, "k": 6})])
    assert set(tools) == {"search", "ask"}
    hits = payload(outsider)["results"]
    assert hits and not any("/rrhh/" in h["source_uri"] or "/finanzas/" in h["source_uri"] for h in hits)
    _, (insider, bad_k) = call(
        env, home["keys"]["ana"], [("search", {"query": SALARY, "k": 6}), ("search", {"query": SALARY, "k": 0})]
    )
    assert any("/rrhh/" in h["source_uri"] for h in payload(insider)["results"])
    assert bad_k.is_error and "between 1 and 50" in bad_k.content[0].text


def test_ask_tool_answers_with_citations_and_a_revoked_key_stops_it(
    home: dict[str, Any], llama_server: dict[str, Any]
) -> None:
    env = service_env(home["settings"], llama_server)
    key = home["keys"]["ana"]
    _, (answered,) = call(env, key, [("ask", {"question": DIETA})])
    result = payload(answered)
    assert result["question_id"] and isinstance(result["refused"], bool)
    if not result["refused"]:
        assert any("politica_viajes" in c["source_uri"] for c in result["citations"])
        assert result["citations"][0]["title"] in result["answer"]
    else:
        assert result["citations"] == [] and result["closest_sources"]
    # Revoked while the server runs: the next call says so (the key is checked at every call).
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "fuente"), args=["serve-mcp"], env={**env, "FUENTE_API_KEY": key}
    )

    async def revoked_mid_session() -> Any:
        async with Client(params, read_timeout_seconds=300) as client:
            api_keys.revoke(home["settings"], "ana")
            return await client.call_tool("search", {"query": SALARY})

    refused = anyio.run(revoked_mid_session)
    assert refused.is_error and "revoked" in refused.content[0].text
