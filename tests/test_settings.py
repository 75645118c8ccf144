"""Tests for rag.settings.load_settings: files, profiles, environment and explicit overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.settings import REPO_ROOT, Settings, load_settings

CONFIGS = REPO_ROOT / "configs"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_default_config_loads_with_its_values() -> None:
    settings = load_settings(environ={})

    assert isinstance(settings, Settings)
    assert settings.profile == "default"
    assert settings.embedding.model == "all-MiniLM-L6-v2"
    assert settings.index.provider == "embedded"
    assert settings.access.default_groups == ["everyone"]
    # The catalog only exists in default.yaml (the pydantic default is empty).
    assert {s.name for s in settings.models.catalog} >= {
        "all-MiniLM-L6-v2",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
    }


@pytest.mark.parametrize("profile", ["test", "gpu", "cloud"])
def test_every_shipped_profile_validates(profile: str) -> None:
    assert load_settings(profile, environ={}).profile == profile


def test_test_profile_overlays_only_its_fields() -> None:
    default = load_settings(environ={})
    test = load_settings("test", environ={})

    assert test.models.try_hub is False
    assert test.embedding.batch_size == 16
    assert test.ingest.workers == 1
    # Deep merge: sibling keys of overlaid sections keep the default's values.
    assert test.models.catalog == default.models.catalog
    assert test.embedding.model == default.embedding.model
    assert test.ingest.ocr_languages == default.ingest.ocr_languages


def test_gpu_profile_switches_to_the_chroma_server_and_cuda() -> None:
    gpu = load_settings("gpu", environ={})

    assert gpu.index.provider == "http"
    assert gpu.index.host == "chroma"
    assert gpu.index.token_env is None  # Chroma 1.5 enforces no token itself (see docker-compose.yml)
    assert gpu.embedding.device == "cuda"
    assert gpu.embedding.batch_size == 128
    assert gpu.paths.home == Path("/var/lib/fuente")
    assert gpu.embedding.normalize is True  # untouched by the profile


def test_profile_can_come_from_the_environment() -> None:
    assert load_settings(environ={"FUENTE_PROFILE": "gpu"}).index.provider == "http"


def test_explicit_profile_beats_the_environment_profile() -> None:
    settings = load_settings("test", environ={"FUENTE_PROFILE": "gpu"})
    assert settings.profile == "test"
    assert settings.index.provider == "embedded"


def test_env_override_sets_a_nested_field_as_a_typed_value() -> None:
    settings = load_settings(environ={"FUENTE__CHUNKING__CHUNK_TOKENS": "300"})
    assert settings.chunking.chunk_tokens == 300


def test_env_override_reads_lists_and_bools_as_yaml() -> None:
    settings = load_settings(
        environ={"FUENTE__ACCESS__DEFAULT_GROUPS": "[staff, rrhh]", "FUENTE__INGEST__OCR": "false"}
    )
    assert settings.access.default_groups == ["staff", "rrhh"]
    assert settings.ingest.ocr is False


def test_env_override_beats_the_profile() -> None:
    settings = load_settings("gpu", environ={"FUENTE__EMBEDDING__BATCH_SIZE": "7"})
    assert settings.embedding.batch_size == 7


def test_fuente_home_moves_every_derived_path(tmp_path: Path) -> None:
    paths = load_settings(environ={"FUENTE_HOME": str(tmp_path)}).paths

    assert paths.chroma_dir == tmp_path / "index" / "chroma"
    assert paths.bm25_dir == tmp_path / "index" / "bm25"
    assert paths.records_db == tmp_path / "fuente.db"
    assert paths.models_dir == tmp_path / "models"
    assert paths.lock_file.parent == tmp_path / "index"


def test_fuente_home_beats_the_profile_home(tmp_path: Path) -> None:
    settings = load_settings("gpu", environ={"FUENTE_HOME": str(tmp_path)})
    assert settings.paths.chroma_dir == tmp_path / "index" / "chroma"


def test_overrides_win_over_environment_and_profile(tmp_path: Path) -> None:
    other = tmp_path / "other"
    settings = load_settings(
        "gpu",
        environ={"FUENTE__CHUNKING__CHUNK_TOKENS": "300", "FUENTE_HOME": str(tmp_path)},
        overrides={"chunking": {"chunk_tokens": 200}, "paths": {"home": str(other)}, "embedding": {"device": "cpu"}},
    )
    assert settings.chunking.chunk_tokens == 200
    assert settings.paths.records_db == other / "fuente.db"
    assert settings.embedding.device == "cpu"
    assert settings.embedding.batch_size == 128  # the profile's value where overrides say nothing


def test_models_dir_relative_to_home_or_absolute(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shared = tmp_path / "shared-models"

    relative = load_settings(environ={"FUENTE_HOME": str(home)}, overrides={"paths": {"models": "m"}})
    absolute = load_settings(environ={"FUENTE_HOME": str(home)}, overrides={"paths": {"models": str(shared)}})

    assert relative.paths.models_dir == home / "m"
    assert absolute.paths.models_dir == shared


def test_home_with_tilde_is_expanded() -> None:
    settings = load_settings(environ={"FUENTE_HOME": "~/fuente-test-home"})
    assert settings.paths.records_db == Path("~/fuente-test-home/fuente.db").expanduser()
    assert settings.paths.records_db.is_absolute()


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings("nope", environ={})
    message = str(err.value)
    assert "nope" in message
    for known in ("test", "gpu", "cloud"):
        assert known in message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"chunking": {"chunk_tokens": 5}}, "chunking.chunk_tokens"),
        ({"chunking": {"chunk_size": 300}}, "chunking.chunk_size"),
        ({"index": {"provider": "pinecone"}}, "index.provider"),
        ({"access": {"default_sensitivity": "secret"}}, "access.default_sensitivity"),
    ],
)
def test_invalid_value_raises_one_sentence_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={}, overrides=overrides)
    message = str(err.value)
    assert field in message
    assert "\n" not in message
    assert message.endswith(".")


def test_invalid_env_value_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="chunking.chunk_tokens"):
        load_settings(environ={"FUENTE__CHUNKING__CHUNK_TOKENS": "5"})


def test_malformed_yaml_raises_config_error_naming_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, "default.yaml", "chunking:\n  chunk_tokens: [1, 2\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir=tmp_path, environ={})
    assert str(bad) in str(err.value)


def test_malformed_yaml_message_is_one_sentence_with_the_line(tmp_path: Path) -> None:
    """What the user reads is one line that points at the broken line of the file."""
    bad = _write(tmp_path, "default.yaml", "paths:\n  home: /x\nchunking:\n  chunk_tokens: [1, 2\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir=tmp_path, environ={})
    message = str(err.value)
    assert str(bad) in message
    assert "line 4" in message
    assert "\n" not in message, message


def test_malformed_profile_file_raises_config_error(tmp_path: Path) -> None:
    _write(tmp_path, "default.yaml", "chunking:\n  chunk_tokens: 300\n")
    bad = _write(tmp_path, "broken.yaml", "embedding: {batch_size: 4\n")
    with pytest.raises(ConfigError) as err:
        load_settings("broken", config_dir=tmp_path, environ={})
    assert str(bad) in str(err.value)


def test_yaml_that_is_not_a_mapping_raises_config_error(tmp_path: Path) -> None:
    _write(tmp_path, "default.yaml", "- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(config_dir=tmp_path, environ={})


def test_config_dir_comes_from_the_environment(tmp_path: Path) -> None:
    _write(tmp_path, "default.yaml", "chunking:\n  chunk_tokens: 123\n")
    _write(tmp_path, "mine.yaml", "chunking:\n  overlap: 0.25\n")
    settings = load_settings("mine", environ={"FUENTE_CONFIG_DIR": str(tmp_path)})
    assert settings.chunking.chunk_tokens == 123
    assert settings.chunking.overlap == 0.25


def test_importing_the_app_does_not_load_settings(tmp_path: Path) -> None:
    """Importing must not read configs: a missing config folder and a bogus profile stay harmless.

    If any module called load_settings at import time, FUENTE_PROFILE=nope would raise there.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUENTE")}
    env |= {"FUENTE_CONFIG_DIR": str(tmp_path / "does-not-exist"), "FUENTE_PROFILE": "nope"}
    code = (
        "import rag.settings, rag.provisioning, rag.embedders, rag.index, ingest.access, ingest.chunking, "
        "ingest.scan, ingest.plan, ingest.pipeline, ui.cli\n"
        "from rag.errors import ConfigError\n"
        "try:\n"
        "    rag.settings.load_settings()\n"
        "except ConfigError:\n"
        "    print('late-error')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # The same environment does fail once settings are loaded on purpose: the probe is live.
    assert done.stdout.strip() == "late-error"
