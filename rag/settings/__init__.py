"""Fuente's one settings object.

``configs/default.yaml`` is overlaid by a profile (``configs/<profile>.yaml``), then by
environment variables, then validated. Nothing here runs at import time: callers load settings
explicitly with :func:`load_settings` and pass them down.

Environment overrides:
    ``FUENTE_HOME``: where the embedded index, models and SQLite records live.
    ``FUENTE_PROFILE``: the profile to overlay when none is passed explicitly.
    ``FUENTE__SECTION__KEY=value``: any field, e.g. ``FUENTE__CHUNKING__CHUNK_TOKENS=300``; the
    value is read as YAML, so ``[a, b]`` is a list and ``true`` a bool.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from rag.errors import ConfigError
from rag.settings.answering import (
    ApiSettings,
    EvidenceSettings,
    LLMEndpointSettings,
    LLMServerSettings,
    LLMSettings,
    PolicySettings,
    RetrievalSettings,
    VerificationSettings,
)
from rag.settings.base import DEFAULT_CONFIG_DIR, ENV_PREFIX, REPO_ROOT, check_group_name
from rag.settings.base import Section as _Section
from rag.settings.ingestion import (
    AccessSettings,
    ChunkingSettings,
    EmbeddingSettings,
    IndexSettings,
    IngestSettings,
    ModelSourceSettings,
    ModelSpec,
    ModelsSettings,
    PathRule,
    PathsSettings,
)

__all__ = [
    "AccessSettings",
    "ApiSettings",
    "ChunkingSettings",
    "DEFAULT_CONFIG_DIR",
    "ENV_PREFIX",
    "EmbeddingSettings",
    "EvidenceSettings",
    "IndexSettings",
    "IngestSettings",
    "LLMEndpointSettings",
    "LLMServerSettings",
    "LLMSettings",
    "ModelSourceSettings",
    "ModelSpec",
    "ModelsSettings",
    "PathRule",
    "PathsSettings",
    "PolicySettings",
    "REPO_ROOT",
    "RetrievalSettings",
    "Settings",
    "VerificationSettings",
    "check_group_name",
    "deep_merge",
    "load_settings",
]


class Settings(_Section):
    profile: str = Field("default", description="Name of the overlaid profile.")
    paths: PathsSettings = Field(default_factory=PathsSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    verification: VerificationSettings = Field(default_factory=VerificationSettings)
    api: ApiSettings = Field(default_factory=ApiSettings, description="`fuente serve-api` and `fuente serve-mcp`.")
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)

    @field_validator("profile")
    @classmethod
    def _profile_name(cls, value: str) -> str:
        return value.strip() or "default"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(
            f"Cannot read settings file {path} ({e.strerror}); check that it exists and is readable."
        ) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        context = getattr(e, "context_mark", None)
        if context is not None and mark is not None and context.line != mark.line:
            where += f", in what starts at line {context.line + 1}"
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"Settings file {path} is not valid YAML ({problem}{where}); fix it.") from e
    if not isinstance(data, dict):
        raise ConfigError(f"Settings file {path} must hold a mapping at the top level.")
    return data


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if not keys:
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = overrides
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    if "FUENTE_HOME" in environ:
        overrides.setdefault("paths", {})["home"] = environ["FUENTE_HOME"]
    return overrides


def load_settings(
    profile: str | None = None,
    *,
    config_dir: Path | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build the settings: default.yaml, then the profile, then environment, then ``overrides``.

    Args:
        profile: profile name (``configs/<profile>.yaml``); ``FUENTE_PROFILE`` when None.
        config_dir: folder holding the YAML files; ``FUENTE_CONFIG_DIR`` or the repo's configs/.
        environ: environment to read (``os.environ`` when None); tests pass their own.
        overrides: last-word values, e.g. from command-line flags.

    Raises:
        ConfigError: a file is unreadable, the profile does not exist, or a value is invalid.
    """
    env = dict(os.environ if environ is None else environ)
    folder = config_dir or Path(env.get("FUENTE_CONFIG_DIR", DEFAULT_CONFIG_DIR))
    data = _read_yaml(folder / "default.yaml") if (folder / "default.yaml").exists() else {}
    chosen = profile or env.get("FUENTE_PROFILE") or "default"
    if chosen != "default":
        profile_file = folder / f"{chosen}.yaml"
        if not profile_file.exists():
            known = sorted(p.stem for p in folder.glob("*.yaml"))
            raise ConfigError(f"No profile {chosen!r} in {folder}; choose one of {known}.")
        data = deep_merge(data, _read_yaml(profile_file))
    data = deep_merge(data, _env_overrides(env))
    data = deep_merge(data, overrides or {})
    data["profile"] = chosen
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"Invalid setting {where}: {first['msg']}; fix it in {folder} or the environment.") from e
