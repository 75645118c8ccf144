"""API keys (stored as sha256 only, 0600, revocable) and the CLI that manages them; the API's message shapes."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from typer.testing import CliRunner

from rag import api_keys
from rag.assistant import Citation
from rag.users import add_user
from tests.helpers import SettingsFactory
from ui import api_format as fmt
from ui.api_service import ApiError


def test_keys_are_stored_hashed_listed_and_revoked(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    record, token = api_keys.create_key(settings, "ana", label="open-webui")
    other, other_token = api_keys.create_key(settings, "luis")
    assert token.startswith(api_keys.PREFIX) and len(token) > 40 and token != other_token
    path = api_keys.keys_db(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = sqlite3.connect(path).execute("SELECT token_sha256 FROM api_keys").fetchall()
    assert token not in str(stored) and (api_keys.token_hash(token),) in stored
    assert path.read_bytes().find(token.encode()) == -1

    assert api_keys.authenticate(settings, token).user == "ana"  # type: ignore[union-attr]
    assert api_keys.authenticate(settings, token + "x") is None
    assert api_keys.authenticate(settings, "not-a-fuente-key") is None
    assert [k.user for k in api_keys.list_keys(settings)] == ["ana", "luis"]
    assert api_keys.list_keys(settings, "ana")[0].last_used is not None

    assert [k.key_id for k in api_keys.revoke(settings, record.key_id)] == [record.key_id]
    assert api_keys.authenticate(settings, token) is None
    assert api_keys.authenticate(settings, other_token) is not None
    assert api_keys.revoke(settings, record.key_id) == []  # already revoked
    assert [k.key_id for k in api_keys.revoke(settings, "luis")] == [other.key_id]  # a user: all their keys
    assert all(not k.active for k in api_keys.list_keys(settings))


def test_cli_creates_lists_and_revokes_keys(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.cli import app

    settings = make_settings()
    add_user(settings, "ana", password=None, groups=frozenset({"rrhh"}))
    monkeypatch.setenv("FUENTE_HOME", str(settings.paths.home))
    runner = CliRunner()
    done = runner.invoke(app, ["--profile", "test", "users", "key", "create", "ana", "--label", "webui"])
    assert done.exit_code == 0, done.output
    token = done.stdout.strip().splitlines()[-1]
    assert api_keys.authenticate(settings, token) is not None
    listed = runner.invoke(app, ["--profile", "test", "users", "key", "list"])
    assert "ana" in listed.stdout and "webui" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout
    nobody = runner.invoke(app, ["--profile", "test", "users", "key", "create", "nobody"])
    assert nobody.exit_code == 4 and "nobody" in nobody.output
    revoked = runner.invoke(app, ["--profile", "test", "users", "key", "revoke", "ana"])
    assert revoked.exit_code == 0 and api_keys.authenticate(settings, token) is None
    again = runner.invoke(app, ["--profile", "test", "users", "key", "revoke", "ana"])
    assert again.exit_code == 4


def test_conversation_takes_the_last_user_message_and_earlier_turns() -> None:
    msgs = [
        fmt.ChatMessage(role="system", content="be nice"),
        fmt.ChatMessage(role="user", content="¿Cuántos días de teletrabajo?"),
        fmt.ChatMessage(role="assistant", content="Dos días [1].\n\nFuentes:\n[1] Teletrabajo (p. 1) - /x.txt"),
        fmt.ChatMessage(role="user", content=[{"type": "text", "text": "¿Y en agosto?"}]),
    ]
    question, turns = fmt.conversation(msgs)
    assert question == "¿Y en agosto?"
    assert [(t.question, t.answer) for t in turns] == [("¿Cuántos días de teletrabajo?", "Dos días [1].")]
    with pytest.raises(ApiError, match="last message must be the user's"):
        fmt.conversation(msgs[:3])
    with pytest.raises(ApiError, match="empty"):
        fmt.conversation([fmt.ChatMessage(role="user", content="  ")])


class _Answer:
    """The Answer attributes the API reads (a plain record, for the text layout only)."""

    def __init__(self, text: str, refused: bool, citations: list[Citation], closest: list[Citation]) -> None:
        self.text, self.refused, self.citations, self.closest_sources = text, refused, citations, closest
        self.language = "en"


def test_the_verified_tail_follows_a_live_stream() -> None:
    cite = Citation(1, "c1", "Travel policy", "/docs/travel.md", "Allowances", "75 EUR a day")
    answered = _Answer("It is 75 EUR a day [1].", False, [cite], [cite])
    assert (
        fmt.tail_text(answered, " It is 75 EUR a day [1]. ")
        == "\n\nSources:\n[1] Travel policy (Allowances) - /docs/travel.md"
    )
    assert fmt.tail_text(answered, "").startswith("It is 75 EUR a day [1].\n\nSources:")
    refused = _Answer("I cannot find that in the documents.", True, [], [cite])
    tail = fmt.tail_text(refused, "It is 90 EUR.")
    assert "not supported by the documents" in tail and "I cannot find that" in tail and "Closest sources:" in tail
