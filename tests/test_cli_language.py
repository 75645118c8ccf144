"""The `fuente` command speaks the terminal's language: Spanish for ``LANG=es_*``, English otherwise.

One test per command family runs the real command (Typer's runner, the real catalogues, a real
index and model server where the command needs one) once with ``LANG=es_ES.UTF-8`` and once with
``LANG=C``; each fails if the catalogue lookup breaks (a Spanish run printing English) or the
locale is misread. JSON output and exit codes are the same in both languages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rag.embedders import Embedder
from tests.helpers import TEST_MODELS, ingest, settings_for
from ui import i18n
from ui.cli import app

SPANISH = {"LANG": "es_ES.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
ENGLISH = {"LANG": "C", "LC_ALL": None, "LC_MESSAGES": None}


def fuente(home: Path, locale: dict[str, str | None], *args: str, **env: str | None) -> Result:
    """`fuente ARGS` over ``home`` (profile test) in ``locale``; wide, so table cells stay whole."""
    environ = {"FUENTE_HOME": str(home), "FUENTE_PROFILE": "test", "FUENTE__PATHS__MODELS": str(TEST_MODELS),
               "COLUMNS": "250", **locale, **env}  # fmt: skip
    return CliRunner().invoke(app, list(args), env=environ)


def words(result: Result) -> str:
    return " ".join(result.output.split())  # rich wraps at the terminal's width


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "es_ES.UTF-8"}, "es"),
        ({"LANG": "es_MX"}, "es"),
        ({"LANG": "es"}, "es"),
        ({"LANG": "ca_ES.UTF-8"}, "en"),  # a language Fuente does not speak is English
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "", "LC_MESSAGES": "es_ES.UTF-8"}, "es"),  # an empty variable is not set
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "es_ES.UTF-8"}, "es"),  # messages' own locale wins over LANG
        ({"LANG": "es_ES.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL wins over both
        ({"LC_ALL": "es_AR.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "es"),
    ],
)
def test_the_locale_variables_choose_the_language(environ: dict[str, str], expected: str) -> None:
    assert i18n.from_locale(environ) == expected


def test_help_texts_and_their_panels_follow_lang(tmp_path: Path) -> None:
    es = words(fuente(tmp_path, SPANISH, "--help"))
    assert "Fuente: un asistente privado de conocimiento con RAG." in es
    assert "─ Opciones ─" in es and "─ Órdenes ─" in es and "Muestra este mensaje y termina." in es
    assert "─ Options ─" not in es and "─ Commands ─" not in es  # every command under the translated panel
    en = words(fuente(tmp_path, ENGLISH, "--help"))
    assert "Fuente: a private RAG knowledge assistant." in en and "─ Commands ─" in en and "Órdenes" not in en
    ingest_es = fuente(tmp_path, SPANISH, "ingest", "--help")
    assert ingest_es.exit_code == 0 and "Muestra el plan; no cambia nada." in words(ingest_es)
    assert "─ Argumentos ─" in words(ingest_es)
    assert "Print the plan; change nothing." in words(fuente(tmp_path, ENGLISH, "ingest", "--help"))


def test_an_error_of_the_cli_is_spanish_and_the_cores_own_stays_english(tmp_path: Path) -> None:
    es, en = fuente(tmp_path, SPANISH, "jobs", "show", "999"), fuente(tmp_path, ENGLISH, "jobs", "show", "999")
    assert (es.exit_code, en.exit_code) == (4, 4)
    assert es.stderr.strip() == "No existe el trabajo 999; lista los trabajos con `fuente jobs`."
    assert en.stderr.strip() == "No job 999; list jobs with `fuente jobs`."
    # rag/'s sentences have no catalogue entry: the handler prints them as they are, in any language.
    profile = fuente(tmp_path, SPANISH, "-p", "nope", "jobs")
    assert profile.exit_code == 4 and "No profile 'nope'" in words(profile)


def test_an_unexpected_failure_is_one_sentence_in_spanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.pipeline import Ingestor

    def broken(*_: Any, **__: Any) -> None:
        raise KeyError("internal detail")

    monkeypatch.setattr(Ingestor, "run", broken)
    result = fuente(tmp_path / "home", SPANISH, "ingest", str(tmp_path))
    assert result.exit_code == 4
    assert result.output.strip() == (
        "La ingesta ha fallado de forma inesperada (KeyError); ejecútala con -v para ver los detalles."
    )


@pytest.mark.integration
def test_ingest_jobs_and_search_speak_lang(tmp_path: Path, small_corpus: Path) -> None:
    home = tmp_path / "home"
    plan = fuente(home, SPANISH, "ingest", str(small_corpus), "--dry-run")
    assert plan.exit_code == 0, plan.output
    planned = [line.split() for line in plan.stdout.splitlines() if line.strip().startswith("añadido")]
    assert len(planned) == 3
    assert "Trabajo 1: planificado" in plan.stdout and "Hecho en " in plan.stdout
    assert "fragmentos vectorizados" in plan.stdout and "Done in" not in plan.stdout

    done = fuente(home, ENGLISH, "ingest", str(small_corpus))
    assert done.exit_code == 0, done.output
    assert "Job 2: completed" in done.stdout and "chunks embedded" in done.stdout and "Done in " in done.stdout

    listed_es, listed_en = fuente(home, SPANISH, "jobs"), fuente(home, ENGLISH, "jobs")
    assert "estado" in listed_es.stdout and "completado" in listed_es.stdout and "(simulación)" in listed_es.stdout
    assert "status" in listed_en.stdout and " completed " in listed_en.stdout and "(dry run)" in listed_en.stdout
    # The machine-readable output is the same whatever the language.
    assert json.loads(fuente(home, SPANISH, "jobs", "--json").stdout) == json.loads(
        fuente(home, ENGLISH, "jobs", "--json").stdout
    )

    found_es = fuente(home, SPANISH, "search", "dieta diaria viaje", "--groups", "internal")
    found_en = fuente(home, ENGLISH, "search", "dieta diaria viaje", "--groups", "internal")
    assert found_es.exit_code == found_en.exit_code == 0, found_es.output
    assert " para los grupos internal" in found_es.stdout and "sensibilidad:" in found_es.stdout
    assert " for groups internal" in found_en.stdout and "sensitivity:" in found_en.stdout


def test_eval_speaks_lang(tmp_path: Path) -> None:
    es, en = fuente(tmp_path, SPANISH, "eval", "list"), fuente(tmp_path, ENGLISH, "eval", "list")
    assert es.exit_code == en.exit_code == 0
    assert words(es) == "Aún no hay ejecuciones de evaluación; lanza una con `fuente eval run --contender local`."
    assert words(en) == "No evaluation runs yet; start one with `fuente eval run --contender local`."


def test_users_and_keys_speak_lang(tmp_path: Path) -> None:
    added = fuente(tmp_path, SPANISH, "users", "add", "ana", "--groups", "rrhh", "--generate")
    assert added.exit_code == 0, added.output
    assert "Guardado ana (grupos: rrhh; roles: user)." in added.stdout and "Contraseña: " in added.stdout
    listed = fuente(tmp_path, ENGLISH, "users", "list")
    assert "groups: rrhh" in listed.stdout and listed.stdout.rstrip().endswith("password")
    assert "grupos: rrhh" in fuente(tmp_path, SPANISH, "users", "list").stdout
    gone_es, gone_en = (
        fuente(tmp_path, SPANISH, "users", "remove", "nadie"),
        fuente(tmp_path, ENGLISH, "users", "remove", "nadie"),
    )
    assert (gone_es.exit_code, gone_en.exit_code) == (4, 4)
    assert words(gone_es).startswith("No hay ningún usuario 'nadie' en ")
    assert words(gone_en).startswith("There is no user 'nadie' in ")

    assert fuente(tmp_path, SPANISH, "users", "key", "create", "ana").exit_code == 0
    assert "activa" in fuente(tmp_path, SPANISH, "users", "key", "list").stdout
    assert "active" in fuente(tmp_path, ENGLISH, "users", "key", "list").stdout
    revoked = fuente(tmp_path, SPANISH, "users", "key", "revoke", "ana")
    assert revoked.exit_code == 0 and revoked.stdout.startswith("Revocadas ")


def test_doctor_and_models_speak_lang(tmp_path: Path) -> None:
    es, en = (
        fuente(tmp_path, SPANISH, "doctor", "--only", "users"),
        fuente(tmp_path, ENGLISH, "doctor", "--only", "users"),
    )
    assert es.exit_code == en.exit_code == 1  # no users file: the check fails in either language
    assert es.stdout.split()[:2] == ["fallo", "users"] and en.stdout.split()[:2] == ["fail", "users"]
    unknown = fuente(tmp_path, SPANISH, "doctor", "--only", "gpu")
    assert unknown.exit_code == 2 and "comprobación desconocida: gpu; elige entre index" in words(unknown)

    empty = tmp_path / "no-models"
    empty.mkdir()
    rows_es = fuente(tmp_path, SPANISH, "models", "list", FUENTE__PATHS__MODELS=str(empty)).stdout.splitlines()
    rows_en = fuente(tmp_path, ENGLISH, "models", "list", FUENTE__PATHS__MODELS=str(empty)).stdout.splitlines()
    assert {line.split()[1] for line in rows_es if line.strip()} == {"falta"}
    assert {line.split()[1] for line in rows_en if line.strip()} == {"missing"}


def test_the_servers_speak_lang(tmp_path: Path) -> None:
    stop_es, stop_en = (
        fuente(tmp_path, SPANISH, "serve-llm", "--stop"),
        fuente(tmp_path, ENGLISH, "serve-llm", "--stop"),
    )
    assert stop_es.stdout.strip() == "no había ningún servidor en segundo plano registrado"
    assert stop_en.stdout.strip() == "no background server was recorded"
    bad = fuente(tmp_path, SPANISH, "serve-mcp", "--transport", "pigeon")
    assert bad.exit_code == 4 and words(bad) == "Transporte desconocido 'pigeon'; usa stdio o http."


@pytest.mark.integration
@pytest.mark.slow
def test_ask_and_chat_label_their_sources_in_lang(
    tmp_path: Path, small_corpus: Path, embedder: Embedder, llama_server: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    ingest(settings_for(home), embedder, small_corpus)
    model = {"FUENTE__LLM__LOCAL__BASE_URL": llama_server["base_url"], "FUENTE__LLM__LOCAL__MODEL": llama_server["model"],
             "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": str(llama_server["context_tokens"]),
             "FUENTE__RETRIEVAL__TRANSLATE_QUERY": "false"}  # fmt: skip
    question = "¿Cuál es la dieta diaria para un viaje internacional?"
    asked = fuente(home, SPANISH, "ask", question, "--groups", "internal", **model)
    assert asked.exit_code == 0, asked.output
    labels = {line.strip() for line in asked.stdout.splitlines()}
    # Answered or refused, the list of sources is headed in Spanish, and never in English.
    assert labels & {"Fuentes:", "Fuentes más cercanas:"} and not labels & {"Sources:", "Closest sources:"}

    chatted = CliRunner().invoke(
        app, ["chat", "--groups", "internal"], input=question + "\n\n",
        env={"FUENTE_HOME": str(home), "FUENTE_PROFILE": "test", "FUENTE__PATHS__MODELS": str(TEST_MODELS),
             "COLUMNS": "250", **ENGLISH, **model},
    )  # fmt: skip
    assert chatted.exit_code == 0, chatted.output
    labels = {line.strip().lstrip("> ").strip() for line in chatted.stdout.splitlines()}
    assert labels & {"Sources:", "Closest sources:"} and not labels & {"Fuentes:", "Fuentes más cercanas:"}
