"""The shape of the house, read from the imports: arrows point into rag/, the core has no terminal."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from rag.settings import REPO_ROOT

PACKAGES = ("rag", "ingest", "ui", "eval")


def modules(package: str) -> Iterator[Path]:
    yield from sorted((REPO_ROOT / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, lazily or not."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_has_no_terminal_interface() -> None:
    offenders = {str(p.relative_to(REPO_ROOT)) for p in modules("rag") if imported(p) & {"typer", "rich", "click"}}
    assert not offenders, f"typer/rich/click under rag/: {sorted(offenders)}"


def test_arrows_point_into_rag() -> None:
    outward = {str(p.relative_to(REPO_ROOT)): sorted(imported(p) & {"ingest", "ui", "eval"}) for p in modules("rag")}
    assert not {k: v for k, v in outward.items() if v}
    # ingest/ writes into the core and knows nothing of the interfaces or the evaluation suite.
    assert not {str(p.relative_to(REPO_ROOT)) for p in modules("ingest") if imported(p) & {"ui", "eval"}}


def test_the_terminal_interface_lives_in_one_package() -> None:
    typer_users = {
        str(p.relative_to(REPO_ROOT)) for package in PACKAGES for p in modules(package) if "typer" in imported(p)
    }
    assert typer_users and all(name.startswith("ui/cli/") for name in typer_users), sorted(typer_users)


OVER_THE_LIMIT: set[str] = set()
MAX_LINES = 500


def test_every_module_is_small() -> None:
    folders = (*PACKAGES, "bench", "samples", "tests", "scripts")
    sizes = {
        str(p.relative_to(REPO_ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for folder in folders
        for p in sorted((REPO_ROOT / folder).rglob("*.py"))
    }
    assert len(sizes) > 100
    too_big = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in OVER_THE_LIMIT}
    assert not too_big, too_big
