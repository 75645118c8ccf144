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


def params(env: dict[str, str], key: str) -> Any:
    from mcp.client.stdio import StdioServerParameters

    fuente = str(Path(sys.executable).parent / "fuente")
    return StdioServerParameters(command=fuente, args=["serve-mcp"], env={**env, "FUENTE_API_KEY": key})


def payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)  # type: ignore[no-any-return]


def outside(source: dict[str, Any]) -> bool:
    return "/rrhh/" not in source["source_uri"] and "/finanzas/" not in source["source_uri"]


def test_search_tool_acts_as_the_key_user(home: dict[str, Any], llama_server: dict[str, Any]) -> None:
    from mcp import Client

    async def session() -> tuple[list[str], Any]:
        async with Client(params(service_env(home["settings"], llama_server), home["keys"]["luis"])) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            return tools, await client.call_tool("search", {"query": SALARY, "k": 6})

    tools, outsider = anyio.run(session)
    assert set(tools) == {"search", "ask"}
    hits = payload(outsider)["results"]
    assert hits and all(outside(h) for h in hits) and "53.000" not in str(hits)


def test_ask_tool_answers_with_citations_and_a_revoked_key_stops_it(
    home: dict[str, Any], llama_server: dict[str, Any]
) -> None:
    """One session as ana: search sees her group, ask answers with citations; revoked mid-session, calls fail."""
    from mcp import Client

    async def session() -> list[Any]:
        async with Client(
            params(service_env(home["settings"], llama_server), home["keys"]["ana"]), read_timeout_seconds=300
        ) as client:
            results = [
                await client.call_tool("search", {"query": SALARY, "k": 6}),
                await client.call_tool("search", {"query": SALARY, "k": 0}),
                await client.call_tool("ask", {"question": DIETA}),
            ]
            api_keys.revoke(home["settings"], "ana")
            return [*results, await client.call_tool("search", {"query": SALARY})]

    insider, bad_k, answered, revoked = anyio.run(session)
    assert not all(outside(h) for h in payload(insider)["results"])
    assert bad_k.is_error and "between 1 and 50" in bad_k.content[0].text
    result = payload(answered)
    assert result["question_id"] and isinstance(result["refused"], bool)
    if not result["refused"]:
        assert any("politica_viajes" in c["source_uri"] for c in result["citations"])
        assert result["citations"][0]["title"] in result["answer"]
    else:
        assert result["citations"] == [] and result["closest_sources"]
    assert revoked.is_error and "revoked" in revoked.content[0].text
