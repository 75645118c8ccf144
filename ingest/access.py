"""Who may see a file: folder sidecars, then path rules, then the configured default.

A sidecar (``_access.yaml`` by default) applies to its folder and everything below it; the
nearest one wins. Path rules from the config are applied after sidecars, the last matching rule
winning, so an administrator can override what a folder owner wrote. A sidecar that cannot be
read fails the files under it rather than falling back to a more open default.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from rag.errors import ParseFailure
from rag.settings import AccessSettings
from rag.types import AccessLabel, Sensitivity


class _Sidecar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[str]
    sensitivity: Sensitivity


class AccessResolver:
    """Resolves the access label of files under one ingested root."""

    def __init__(self, settings: AccessSettings, root: Path) -> None:
        self._settings = settings
        self._root = root
        self._read_sidecar = lru_cache(maxsize=None)(self._load_sidecar)

    def _load_sidecar(self, folder: Path) -> AccessLabel | None:
        path = folder / self._settings.sidecar
        if not path.is_file():
            return None
        try:
            data = _Sidecar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, ValidationError) as e:
            raise ParseFailure(
                f"The access file {path} is invalid ({type(e).__name__}); fix it so its folder gets the right groups."
            ) from e
        if not data.groups:
            raise ParseFailure(f"The access file {path} lists no groups; name at least one (or 'everyone').")
        return AccessLabel(frozenset(g.strip() for g in data.groups), data.sensitivity)

    def label_for(self, path: Path) -> AccessLabel:
        """The label of ``path`` (a file under the root).

        Raises:
            ParseFailure: a sidecar on the way is invalid.
        """
        label = self._settings.default_label
        folder = path.parent
        chain = [folder, *folder.parents]
        for candidate in chain:
            found = self._read_sidecar(candidate)
            if found is not None:
                label = found
                break
            if candidate == self._root:
                break
        try:
            relative = path.relative_to(self._root).as_posix()
        except ValueError:
            relative = path.name
        for rule in self._settings.rules:
            if fnmatch.fnmatch(relative, rule.glob):
                label = AccessLabel(frozenset(rule.groups), rule.sensitivity)
        return label
