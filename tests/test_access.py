"""Tests for ingest.access.AccessResolver: sidecars, path rules and the configured default."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.access import AccessResolver
from ingest.errors import ParseFailure
from rag.settings import AccessSettings, PathRule
from rag.types import AccessLabel, Sensitivity

SIDECAR = "_access.yaml"


def label(*groups: str, sensitivity: Sensitivity) -> AccessLabel:
    return AccessLabel(frozenset(groups), sensitivity)


def touch(path: Path, text: str = "contenido") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sidecar(folder: Path, text: str) -> Path:
    return touch(folder / SIDECAR, text)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def test_no_sidecar_gives_the_configured_default(root: Path) -> None:
    settings = AccessSettings(default_groups=["staff"], default_sensitivity=Sensitivity.PUBLIC)
    resolver = AccessResolver(settings, root)

    assert resolver.label_for(touch(root / "a" / "b.txt")) == label("staff", sensitivity=Sensitivity.PUBLIC)


def test_sidecar_applies_to_its_folder_and_below(root: Path) -> None:
    sidecar(root / "rrhh", "groups: [rrhh, direccion]\nsensitivity: confidential\n")
    resolver = AccessResolver(AccessSettings(), root)
    expected = label("rrhh", "direccion", sensitivity=Sensitivity.CONFIDENTIAL)

    assert resolver.label_for(touch(root / "rrhh" / "nomina.pdf")) == expected
    assert resolver.label_for(touch(root / "rrhh" / "2024" / "enero" / "nomina.pdf")) == expected
    assert resolver.label_for(touch(root / "general" / "menu.txt")) == AccessSettings().default_label


def test_nearest_sidecar_wins(root: Path) -> None:
    sidecar(root, "groups: [everyone]\nsensitivity: internal\n")
    sidecar(root / "rrhh", "groups: [rrhh]\nsensitivity: confidential\n")
    sidecar(root / "rrhh" / "despidos", "groups: [direccion]\nsensitivity: restricted\n")
    resolver = AccessResolver(AccessSettings(), root)

    assert resolver.label_for(touch(root / "x.txt")) == label("everyone", sensitivity=Sensitivity.INTERNAL)
    assert resolver.label_for(touch(root / "rrhh" / "x.txt")) == label("rrhh", sensitivity=Sensitivity.CONFIDENTIAL)
    assert resolver.label_for(touch(root / "rrhh" / "despidos" / "sub" / "x.txt")) == label(
        "direccion", sensitivity=Sensitivity.RESTRICTED
    )


def test_sidecar_with_a_custom_name(root: Path) -> None:
    touch(root / "legal" / ".permisos.yml", "groups: [legal]\nsensitivity: confidential\n")
    resolver = AccessResolver(AccessSettings(sidecar=".permisos.yml"), root)

    assert resolver.label_for(touch(root / "legal" / "contrato.pdf")).groups == frozenset({"legal"})


def test_sidecars_above_the_ingested_folder_apply(tmp_path: Path) -> None:
    """Ingesting docs/rrhh/nominas labels a payslip as ingesting docs would."""
    sidecar(tmp_path / "rrhh", "groups: [rrhh]\nsensitivity: confidential\n")
    sub = tmp_path / "rrhh" / "nominas"
    resolver = AccessResolver(AccessSettings(), sub)

    assert resolver.label_for(touch(sub / "enero.txt")) == label("rrhh", sensitivity=Sensitivity.CONFIDENTIAL)


def test_sidecars_above_a_configured_corpus_root_are_not_consulted(tmp_path: Path) -> None:
    sidecar(tmp_path, "groups: [secreto]\nsensitivity: restricted\n")
    root = tmp_path / "docs"
    resolver = AccessResolver(AccessSettings(), root / "sub", sources=[root])

    assert resolver.label_for(touch(root / "sub" / "a.txt")) == AccessSettings().default_label


def test_invalid_sidecar_above_the_ingested_folder_fails_the_file(tmp_path: Path) -> None:
    sidecar(tmp_path, "groups: [\n")
    root = tmp_path / "docs"
    with pytest.raises(ParseFailure):
        AccessResolver(AccessSettings(), root).label_for(touch(root / "a.txt"))


def test_rules_match_relative_to_the_corpus_root_whichever_folder_is_ingested(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    settings = AccessSettings(rules=[PathRule(glob="rrhh/**", groups=["rrhh"], sensitivity=Sensitivity.CONFIDENTIAL)])
    payslip = touch(root / "rrhh" / "nominas" / "enero.txt")
    expected = label("rrhh", sensitivity=Sensitivity.CONFIDENTIAL)

    assert AccessResolver(settings, payslip.parent, sources=[root]).label_for(payslip) == expected
    assert AccessResolver(settings, payslip.parent, known_roots=[root]).label_for(payslip) == expected
    assert AccessResolver(settings, payslip, known_roots=[root]).label_for(payslip) == expected


def test_rules_matched_from_too_deep_a_first_run_fail_instead_of_opening_the_file(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    settings = AccessSettings(rules=[PathRule(glob="rrhh/**", groups=["rrhh"], sensitivity=Sensitivity.CONFIDENTIAL)])
    payslip = touch(root / "rrhh" / "nominas" / "enero.txt")
    menu = touch(root / "general" / "menu.txt")

    # `fuente ingest docs/rrhh/nominas` before any run of docs, no ingest.sources: "enero.txt" matches no rule.
    with pytest.raises(ParseFailure, match="ingest.sources"):
        AccessResolver(settings, payslip.parent).label_for(payslip)
    with pytest.raises(ParseFailure, match="ingest.sources"):
        AccessResolver(settings, payslip).label_for(payslip)
    # From the folder the rules are written for, or with it configured, the rule applies and nothing fails.
    expected = label("rrhh", sensitivity=Sensitivity.CONFIDENTIAL)
    assert AccessResolver(settings, root).label_for(payslip) == expected
    assert AccessResolver(settings, payslip.parent, sources=[root]).label_for(payslip) == expected
    assert AccessResolver(settings, menu.parent).label_for(menu) == settings.default_label


@pytest.mark.parametrize("name", ["_access.yml", "_Access.yaml", "_ACCESS.YAML", "_access.yaml.txt", "_access.yaml "])
def test_a_misnamed_access_file_fails_its_folder_instead_of_opening_it(root: Path, name: str) -> None:
    touch(root / "rrhh" / name, "groups: [rrhh]\nsensitivity: confidential\n")
    payslip = touch(root / "rrhh" / "nominas" / "enero.txt")

    with pytest.raises(ParseFailure, match=f"rename it to '{SIDECAR}'"):
        AccessResolver(AccessSettings(), root).label_for(payslip)
    assert AccessResolver(AccessSettings(), root).label_for(touch(root / "otros" / "a.txt")).groups == {"everyone"}
    sidecar(root / "rrhh", "groups: [rrhh]\nsensitivity: confidential\n")  # the real one there: the near miss is a file
    assert AccessResolver(AccessSettings(), root).label_for(payslip).groups == {"rrhh"}


@pytest.mark.parametrize("kind", ["broken link", "folder"])
def test_an_access_file_that_is_a_broken_link_or_a_folder_fails_its_files(root: Path, kind: str) -> None:
    (root / "rrhh").mkdir()
    if kind == "folder":
        (root / "rrhh" / SIDECAR).mkdir()
    else:
        (root / "rrhh" / SIDECAR).symlink_to(root / "no-existe.yaml")  # its target moved away
    with pytest.raises(ParseFailure, match="not a readable file"):
        AccessResolver(AccessSettings(), root).label_for(touch(root / "rrhh" / "nomina.txt"))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"groups: [rrhh]\ngroups: [everyone]\nsensitivity: internal\n", "invalid"),  # a key twice
        ("groups: [dirección]\nsensitivity: internal\n".encode("latin-1"), "UTF-8"),  # saved by an old editor
        (b"groups: [rrhh]\n? [a, b]\n: x\nsensitivity: internal\n", "invalid"),  # an unhashable key
    ],
)
def test_an_access_file_with_a_key_twice_or_not_in_utf8_fails_its_files(root: Path, data: bytes, why: str) -> None:
    (root / "rrhh").mkdir()
    (root / "rrhh" / SIDECAR).write_bytes(data)
    with pytest.raises(ParseFailure, match=why):  # not the last key winning, not an error that stops the job
        AccessResolver(AccessSettings(), root).label_for(touch(root / "rrhh" / "nomina.txt"))


def test_an_access_file_with_a_byte_order_mark_is_read(root: Path) -> None:
    (root / SIDECAR).write_bytes("\ufeffgroups: [dirección]\nsensitivity: internal\n".encode())
    assert AccessResolver(AccessSettings(), root).label_for(touch(root / "a.txt")).groups == {"dirección"}


@pytest.mark.parametrize("name", ["a+b", "a,b", "a/b", "a b", "a|b", ""])
def test_group_names_with_separators_are_refused(root: Path, name: str) -> None:
    sidecar(root, f"groups: ['{name}']\nsensitivity: internal\n")
    with pytest.raises(ParseFailure):
        AccessResolver(AccessSettings(), root).label_for(touch(root / "a.txt"))
    with pytest.raises(ValueError):
        PathRule(glob="*", groups=[name], sensitivity=Sensitivity.INTERNAL)


def test_sidecar_at_the_root_itself_applies(root: Path) -> None:
    sidecar(root, "groups: [socios]\nsensitivity: confidential\n")
    assert AccessResolver(AccessSettings(), root).label_for(touch(root / "a.txt")).groups == frozenset({"socios"})


def test_path_rule_overrides_the_sidecar(root: Path) -> None:
    sidecar(root / "rrhh", "groups: [everyone]\nsensitivity: public\n")
    settings = AccessSettings(rules=[PathRule(glob="rrhh/**", groups=["rrhh"], sensitivity=Sensitivity.CONFIDENTIAL)])
    resolver = AccessResolver(settings, root)

    assert resolver.label_for(touch(root / "rrhh" / "sub" / "nomina.pdf")) == label(
        "rrhh", sensitivity=Sensitivity.CONFIDENTIAL
    )
    assert resolver.label_for(touch(root / "otros" / "a.txt")) == settings.default_label


def test_last_matching_rule_wins(root: Path) -> None:
    settings = AccessSettings(
        rules=[
            PathRule(glob="rrhh/**", groups=["rrhh"], sensitivity=Sensitivity.CONFIDENTIAL),
            PathRule(glob="rrhh/publico/*", groups=["everyone"], sensitivity=Sensitivity.PUBLIC),
            PathRule(glob="ventas/**", groups=["ventas"], sensitivity=Sensitivity.INTERNAL),
        ]
    )
    resolver = AccessResolver(settings, root)

    assert resolver.label_for(touch(root / "rrhh" / "publico" / "calendario.pdf")) == label(
        "everyone", sensitivity=Sensitivity.PUBLIC
    )
    assert resolver.label_for(touch(root / "rrhh" / "nomina.pdf")).groups == frozenset({"rrhh"})


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("groups: [rrhh\nsensitivity: confidential\n", id="bad-yaml"),
        pytest.param("groups: [rrhh]\nsensitivity: top-secret\n", id="unknown-sensitivity"),
        pytest.param("groups: []\nsensitivity: confidential\n", id="empty-groups"),
        pytest.param("groups: [rrhh]\n", id="missing-sensitivity"),
        pytest.param("groups: [rrhh]\nsensitivity: internal\nowner: ana\n", id="unknown-key"),
        pytest.param("- rrhh\n", id="not-a-mapping"),
    ],
)
def test_invalid_sidecar_fails_the_file_instead_of_opening_it(root: Path, text: str) -> None:
    bad = sidecar(root / "rrhh", text)
    resolver = AccessResolver(AccessSettings(), root)

    with pytest.raises(ParseFailure) as err:
        resolver.label_for(touch(root / "rrhh" / "sub" / "nomina.pdf"))

    reason = err.value.reason
    assert str(bad) in reason
    assert "\n" not in reason and reason.endswith(".")
    assert err.value.status == "failed"


def test_invalid_sidecar_does_not_affect_sibling_folders(root: Path) -> None:
    sidecar(root / "rrhh", "groups: [\n")
    resolver = AccessResolver(AccessSettings(), root)

    assert resolver.label_for(touch(root / "ventas" / "a.txt")) == AccessSettings().default_label


def test_edited_sidecar_is_read_again_by_a_new_resolver(root: Path) -> None:
    """Each ingestion run builds a resolver; a fixed sidecar takes effect on the next run."""
    bad = sidecar(root, "groups: []\nsensitivity: internal\n")
    f = touch(root / "a.txt")
    with pytest.raises(ParseFailure):
        AccessResolver(AccessSettings(), root).label_for(f)

    bad.write_text("groups: [ventas]\nsensitivity: internal\n", encoding="utf-8")
    assert AccessResolver(AccessSettings(), root).label_for(f).groups == frozenset({"ventas"})
