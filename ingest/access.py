"""Who may see a file: folder sidecars, then path rules, then the configured default.

A sidecar (``_access.yaml`` by default) applies to its folder and everything below it; the
nearest one wins. Path rules from the config are applied after sidecars, the last matching rule
winning, so an administrator can override what a folder owner wrote. A sidecar that cannot be
read fails the files under it rather than falling back to a more open default.

The label does not depend on which folder was ingested: sidecars are looked for from the file's
folder up to its corpus root (the widest configured ``ingest.sources`` folder holding it, else the
filesystem root), and rules match the path relative to that corpus root (else the widest folder
ingested before that holds it). So ``fuente ingest docs/rrhh/nominas`` labels a payslip exactly as
``fuente ingest docs`` does. Without a configured corpus root, a file that the rules would label
more narrowly when matched from a folder above the one ingested fails (``ingest.sources`` settles
it), rather than being labelled by rules matched from too deep a folder on a first run.

A folder holding a near miss of the access file's name (``_access.yml``, ``_Access.yaml``,
``_access.yaml.txt``) and not the file itself fails its files: a typo would otherwise open the folder
to the default without a word.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ingest.errors import ParseFailure
from ingest.plan import widens
from rag.settings import AccessSettings, PathRule, check_group_name
from rag.types import AccessLabel, Sensitivity

_SIDECAR_SUFFIXES = (".yaml", ".yml", ".yaml.txt", ".yml.txt")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice (PyYAML keeps the last: `groups` twice opened a folder)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                hash(key)
            except TypeError:
                continue  # the base loader refuses an unhashable key with its own error
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Sidecar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[str]
    sensitivity: Sensitivity


def _near_miss(folder: Path, sidecar: str) -> str | None:
    """A file in ``folder`` named like the access file but not exactly (case, extension, spaces)."""
    stem = sidecar.split(".", 1)[0].casefold()
    wanted = {stem + suffix for suffix in _SIDECAR_SUFFIXES}
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    return next((n for n in sorted(names) if n != sidecar and n.strip().casefold() in wanted), None)


def _apply_rules(label: AccessLabel, relative: str, rules: Sequence[PathRule]) -> AccessLabel:
    for rule in rules:
        if fnmatch.fnmatch(relative, rule.glob):
            label = AccessLabel(frozenset(rule.groups), rule.sensitivity)
    return label


def _widest(path: Path, folders: Sequence[Path]) -> Path | None:
    holding = [f for f in folders if path.is_relative_to(f)]
    return min(holding, key=lambda f: len(f.parts)) if holding else None


class AccessResolver:
    """Resolves the access label of files by their real path, whatever root they were reached from.

    Args:
        settings: the access section of the settings.
        root: the folder being ingested (counts as a folder ingested before, for rules).
        sources: configured corpus roots (``ingest.sources``), real paths.
        known_roots: folders ingested before (real paths); rules match relative to the widest holding a file.
    """

    def __init__(
        self,
        settings: AccessSettings,
        root: Path | None = None,
        *,
        sources: Sequence[Path] = (),
        known_roots: Sequence[Path] = (),
    ) -> None:
        self._settings = settings
        self._sources = list(sources)
        self._known = [*known_roots, *([root] if root is not None else [])]
        self._read_sidecar = lru_cache(maxsize=None)(self._load_sidecar)

    def corpus_root(self, path: Path) -> Path | None:
        """The configured corpus root holding ``path``, if any."""
        return _widest(path, self._sources)

    def _load_sidecar(self, folder: Path) -> AccessLabel | None:
        path = folder / self._settings.sidecar
        if not path.is_file() and os.path.lexists(path):
            # A broken link or a folder under the access file's name: unreadable, not absent.
            raise ParseFailure(
                f"The access file {path} is not a readable file (a broken link or a folder); fix it so its folder "
                "gets the right groups."
            )
        if not path.is_file():
            near = _near_miss(folder, self._settings.sidecar)
            if near is not None:
                raise ParseFailure(
                    f"The folder {folder} has {near!r} but no {self._settings.sidecar!r}; rename it to "
                    f"{self._settings.sidecar!r} so its folder gets the right groups."
                )
            return None
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise ParseFailure(
                f"The access file {path} is not UTF-8 text; save it as UTF-8 so its folder gets the right groups."
            ) from e
        except OSError as e:
            raise ParseFailure(
                f"The access file {path} cannot be read ({e.strerror}); fix it so its folder gets the right groups."
            ) from e
        try:
            data = _Sidecar.model_validate(yaml.load(text, Loader=_StrictLoader) or {})  # noqa: S506 - a SafeLoader
        except (yaml.YAMLError, ValidationError) as e:
            raise ParseFailure(
                f"The access file {path} is invalid ({type(e).__name__}); fix it so its folder gets the right groups."
            ) from e
        if not data.groups:
            raise ParseFailure(f"The access file {path} lists no groups; name at least one (or 'everyone').")
        try:
            groups = frozenset(check_group_name(g.strip()) for g in data.groups)
        except ValueError as e:
            raise ParseFailure(f"The access file {path} names an invalid group ({e}); rename it.") from e
        return AccessLabel(groups, data.sensitivity)

    def label_for(self, path: Path) -> AccessLabel:
        """The label of ``path`` (a file under the root).

        Raises:
            ParseFailure: a sidecar on the way is invalid.
        """
        label = self._settings.default_label
        top = self.corpus_root(path)
        folder = path.parent
        chain = [folder, *folder.parents]
        for candidate in chain:
            found = self._read_sidecar(candidate)
            if found is not None:
                label = found
                break
            if candidate == top:
                break
        base = top or _widest(path, self._known)
        relative = path.relative_to(base).as_posix() if base is not None and path != base else path.name
        rules = self._settings.rules
        labelled = _apply_rules(label, relative, rules)
        if rules and top is None:
            # No configured corpus root: the rules may have been written for a folder above the one
            # ingested. One that labels the file more narrowly from there means this run is too deep.
            for above in (base or path.parent).parents:
                narrower = _apply_rules(label, path.relative_to(above).as_posix(), rules)
                if widens(narrower.key, labelled.key):
                    raise ParseFailure(
                        f"access.rules label this file [{', '.join(sorted(narrower.groups))}] from {above} but "
                        f"[{', '.join(sorted(labelled.groups))}] from {base or path.parent}; set ingest.sources to the "
                        "folder your rules are written for, so every run matches them from there."
                    )
        return labelled
