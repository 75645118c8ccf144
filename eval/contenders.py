"""Contenders: named configurations the evaluation compares (model endpoint + retrieval + policy).

A contender is a settings overlay on top of the installation's own settings, read from
``configs/contenders.yaml`` (or a file given with ``--contenders``). It may change how questions are
answered (``llm``, ``retrieval``, ``evidence``, ``policy``, ``verification``) but never what is indexed: every
contender of a comparison searches the same index with the same embedding model.

The same file holds the price table (per model, per million tokens, plus an hourly rate for
self-hosted hardware) from which each answer's cost is computed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from eval.errors import EvalError
from rag.settings import DEFAULT_CONFIG_DIR, Settings, deep_merge

CONTENDERS_FILE = DEFAULT_CONFIG_DIR / "contenders.yaml"
# Sections a contender may change: how an answer is made, not what is indexed.
ANSWER_SECTIONS = frozenset({"llm", "retrieval", "evidence", "policy", "verification"})


class ContenderError(EvalError):
    """A contender is unknown, malformed, or cannot run here (a missing API key, say)."""


@dataclass(frozen=True)
class Price:
    """What answers cost on one model.

    Attributes:
        input_per_mtok: price of a million prompt tokens.
        output_per_mtok: price of a million generated tokens.
        per_hour: hourly cost of self-hosted hardware, charged for the seconds an answer took.
        currency: the unit of all three.
    """

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_hour: float = 0.0
    currency: str = "USD"

    def cost(self, prompt_tokens: int, completion_tokens: int, seconds: float) -> float:
        seconds = 0.0 if math.isnan(seconds) else seconds
        return (
            prompt_tokens * self.input_per_mtok / 1e6
            + completion_tokens * self.output_per_mtok / 1e6
            + seconds * self.per_hour / 3600
        )


@dataclass(frozen=True)
class Contender:
    """A named configuration.

    Attributes:
        name: what runs and reports call it.
        description: one line for the report.
        overrides: the settings overlay (``llm``, ``retrieval``, ``evidence``, ``policy``, ``verification``).
        key_env: the environment variable its API key lives in, when it needs one.
    """

    name: str
    description: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    key_env: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "overrides": dict(self.overrides),
                "key_env": self.key_env}  # fmt: skip


@dataclass(frozen=True)
class ContenderBook:
    """The contenders and prices of one file."""

    contenders: dict[str, Contender]
    prices: dict[str, Price]
    source: Path | None = None

    def get(self, name: str) -> Contender:
        if name not in self.contenders:
            where = f" in {self.source}" if self.source else ""
            raise ContenderError(f"No contender {name!r}{where}; choose one of {sorted(self.contenders)}.")
        return self.contenders[name]

    def price(self, model: str) -> Price | None:
        """The price of a served model name; None when the table does not list it (cost is then NaN)."""
        return self.prices.get(model)


def _price(name: str, raw: Any) -> Price:
    if not isinstance(raw, Mapping):
        raise ContenderError(f"Price of {name!r} must be a mapping with input, output, per_hour, currency.")
    unknown = set(raw) - {"input", "output", "per_hour", "currency"}
    if unknown:
        raise ContenderError(
            f"Price of {name!r} has unknown fields {sorted(unknown)}; use input, output, per_hour, currency."
        )
    try:
        return Price(float(raw.get("input", 0)), float(raw.get("output", 0)), float(raw.get("per_hour", 0)),
                     str(raw.get("currency", "USD")))  # fmt: skip
    except (TypeError, ValueError) as e:
        raise ContenderError(f"Price of {name!r} must hold numbers; fix it.") from e


def parse_book(data: Mapping[str, Any], source: Path | None = None) -> ContenderBook:
    """Contenders and prices from the YAML mapping (``contenders:`` and ``prices:``)."""
    raw = data.get("contenders") or {}
    if not isinstance(raw, Mapping):
        raise ContenderError(f"`contenders` in {source or 'the contenders file'} must map names to settings.")
    contenders: dict[str, Contender] = {}
    for name, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise ContenderError(f"Contender {name!r} must be a mapping (description, overrides, key_env).")
        overrides = spec.get("overrides") or {}
        bad = set(overrides) - ANSWER_SECTIONS
        if bad:
            raise ContenderError(
                f"Contender {name!r} changes {sorted(bad)}; a contender may only change {sorted(ANSWER_SECTIONS)} "
                "(every contender searches the same index)."
            )
        contenders[str(name)] = Contender(
            str(name), str(spec.get("description", "")), dict(overrides), spec.get("key_env")
        )
    prices = {str(model): _price(str(model), p) for model, p in (data.get("prices") or {}).items()}
    return ContenderBook(contenders, prices, source)


def load_book(path: Path | None = None) -> ContenderBook:
    """Read ``configs/contenders.yaml`` (or ``path``).

    Raises:
        ContenderError: the file is missing, not YAML, or malformed.
    """
    path = path or CONTENDERS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ContenderError(f"Cannot read the contenders file {path} ({e.strerror}); check --contenders.") from e
    except yaml.YAMLError as e:
        raise ContenderError(f"The contenders file {path} is not valid YAML; fix it.") from e
    if not isinstance(data, Mapping):
        raise ContenderError(f"The contenders file {path} must hold a mapping with `contenders:` and `prices:`.")
    return parse_book(data, path)


def contender_settings(base: Settings, contender: Contender) -> Settings:
    """The base settings with the contender's overlay, at temperature 0 (repeatable answers).

    Raises:
        ContenderError: the overlay does not validate.
    """
    data = deep_merge(base.model_dump(mode="json"), dict(contender.overrides))
    for role in ("local", "cloud"):
        if data["llm"].get(role):
            data["llm"][role]["temperature"] = 0.0
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ContenderError(f"Contender {contender.name!r} sets an invalid {where}: {first['msg']}; fix it.") from e


def check_ready(contender: Contender, settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Fail early, in one sentence, when a contender's API key is not in the environment."""
    env = os.environ if environ is None else environ
    needed = [contender.key_env] if contender.key_env else []
    endpoints = [settings.llm.local] + (
        [settings.llm.cloud] if settings.llm.cloud and settings.policy.cloud_enabled else []
    )
    needed += [e.api_key_env for e in endpoints if e.api_key_env]
    for var in dict.fromkeys(needed):
        if not env.get(var):
            raise ContenderError(
                f"Contender {contender.name!r} needs an API key in {var}, which is not set; export it or leave "
                f"--contender {contender.name} out."
            )


def answering_models(settings: Settings) -> list[str]:
    """The served model names a contender may answer with (for the price table)."""
    models = [settings.llm.local.model]
    if settings.llm.cloud is not None and settings.policy.cloud_enabled:
        models.append(settings.llm.cloud.model)
    return models
