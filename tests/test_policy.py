"""Tests for rag.policy: who answers a question, and what a cloud model may see."""

from __future__ import annotations

from dataclasses import fields

import pytest

from rag.errors import PolicyError
from rag.pii import PiiDetector, Redactor
from rag.policy import PolicySettings, decide_route, prepare_for_cloud
from rag.settings import DEFAULT_CONFIG_DIR, Settings, load_settings
from rag.types import AccessLabel, Chunk, Sensitivity

PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = (
    Sensitivity.PUBLIC,
    Sensitivity.INTERNAL,
    Sensitivity.CONFIDENTIAL,
    Sensitivity.RESTRICTED,
)
CLOUD = PolicySettings(cloud_enabled=True, route="cloud")


def chunk(chunk_id: str, sensitivity: Sensitivity, text: str = "Texto sin datos personales.", **kw: object) -> Chunk:
    values: dict[str, object] = {
        "id": chunk_id,
        "doc_id": f"doc-{chunk_id}",
        "text": text,
        "ordinal": 0,
        "source_uri": f"file:///docs/{chunk_id}.txt",
        "title": f"Documento {chunk_id}",
        "access": AccessLabel(frozenset({"everyone"}), sensitivity),
        "language": "es",
        "modified": 0.0,
        "content_hash": f"hash-{chunk_id}",
    }
    values.update(kw)
    return Chunk(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def test_default_settings_route_every_question_locally() -> None:
    chunks = [chunk("a", PUBLIC)]
    from_code = Settings().policy
    from_yaml = load_settings(config_dir=DEFAULT_CONFIG_DIR, environ={}).policy

    for policy in (from_code, from_yaml):
        assert policy.cloud_enabled is False
        decision = decide_route(policy, chunks, cloud_available=True)
        assert decision.route == "local"
        assert decision.allowed_chunks == ()
        assert "cloud_enabled" in decision.reason


def test_route_local_keeps_questions_local_even_with_the_cloud_enabled() -> None:
    policy = PolicySettings(cloud_enabled=True, route="local")

    decision = decide_route(policy, [chunk("a", PUBLIC)], cloud_available=True)

    assert decision.route == "local"
    assert decision.allowed_chunks == ()


@pytest.mark.parametrize("route", ["cloud", "auto"])
def test_chunks_at_or_below_the_ceiling_may_go_to_the_cloud(route: str) -> None:
    policy = PolicySettings(cloud_enabled=True, route=route)  # type: ignore[arg-type]
    chunks = [chunk("a", PUBLIC), chunk("b", INTERNAL)]

    decision = decide_route(policy, chunks, cloud_available=True)

    assert decision.route == "cloud"
    assert decision.allowed_chunks == tuple(chunks)


@pytest.mark.parametrize("route", ["cloud", "auto"])
def test_one_confidential_chunk_keeps_the_whole_question_local(route: str) -> None:
    policy = PolicySettings(cloud_enabled=True, route=route)  # type: ignore[arg-type]
    chunks = [chunk("a", PUBLIC), chunk("b", CONFIDENTIAL), chunk("c", INTERNAL)]

    decision = decide_route(policy, chunks, cloud_available=True)

    assert decision.route == "local"
    assert decision.allowed_chunks == ()  # nothing is dropped to make the rest fit
    assert decision.reason.startswith("1 of 3 retrieved chunks are above the 'internal' sensitivity ceiling")
    assert "1 confidential" in decision.reason


def test_the_ceiling_is_configurable() -> None:
    policy = CLOUD.model_copy(update={"sensitivity_ceiling": CONFIDENTIAL})

    allowed = decide_route(policy, [chunk("a", CONFIDENTIAL)], cloud_available=True)
    restricted = decide_route(policy, [chunk("a", CONFIDENTIAL), chunk("b", RESTRICTED)], cloud_available=True)
    public_only = PolicySettings(cloud_enabled=True, route="auto", sensitivity_ceiling=PUBLIC)
    internal = decide_route(public_only, [chunk("a", INTERNAL)], cloud_available=True)

    assert allowed.route == "cloud"
    assert restricted.route == "local" and "1 restricted" in restricted.reason
    assert internal.route == "local" and "'public' sensitivity ceiling" in internal.reason


def test_no_cloud_model_means_local() -> None:
    decision = decide_route(CLOUD, [chunk("a", PUBLIC)], cloud_available=False)

    assert decision.route == "local"
    assert "No cloud model" in decision.reason


def test_policy_can_be_set_from_the_environment(tmp_path: object) -> None:
    environ = {"FUENTE__POLICY__CLOUD_ENABLED": "true", "FUENTE__POLICY__ROUTE": "auto"}

    policy = load_settings(config_dir=DEFAULT_CONFIG_DIR, environ=environ).policy

    assert (policy.cloud_enabled, policy.route, policy.sensitivity_ceiling) == (True, "auto", INTERNAL)


def test_personal_data_never_reaches_the_cloud_text(detector: PiiDetector) -> None:
    secrets = ["12345678Z", "X1234567L", "ES91 2100 0418 4502 0005 1332", "+34 612 345 678", "ana@example.es"]
    chunks = [
        chunk(
            "nomina",
            INTERNAL,
            "Empleada con DNI 12345678Z, cuenta ES91 2100 0418 4502 0005 1332, móvil +34 612 345 678. "
            "Salario bruto anual: 32.500,00 € desde el 01/02/2026.",
            title="Nómina 12345678Z",
            source_uri="file:///docs/rrhh/12345678Z.pdf",
            section=("Datos de ana@example.es",),
            extra={"author": "ana@example.es"},
        ),
        chunk("contacto", PUBLIC, "Contacto: ana@example.es o 612345678; NIE del cónyuge X1234567L."),
    ]
    decision = decide_route(CLOUD, chunks, cloud_available=True)

    prepared = prepare_for_cloud(decision.allowed_chunks, Redactor(detector), ceiling=CLOUD.sensitivity_ceiling)

    assert [c.id for c, _ in prepared] == ["nomina", "contacto"]
    for cloud_chunk, redaction in prepared:
        sent = " ".join(str(getattr(cloud_chunk, f.name)) for f in fields(cloud_chunk)) + redaction.text
        for secret in secrets:
            assert secret not in sent
    first, second = prepared
    assert "32.500,00 € desde el 01/02/2026" in first[0].text  # the facts survive
    assert first[0].title == "Nómina <DNI_1>"
    assert first[1].counts == {"DNI": 3, "EMAIL": 1, "IBAN": 1, "PHONE": 1}
    # One session across the question's chunks: the same phone and e-mail keep their placeholder.
    assert second[0].text == "Contacto: <EMAIL_1> o <PHONE_1>; NIE del cónyuge <NIE_1>."


def test_prepare_for_cloud_refuses_chunks_above_the_ceiling(detector: PiiDetector) -> None:
    chunks = [chunk("a", PUBLIC), chunk("b", CONFIDENTIAL)]

    with pytest.raises(PolicyError, match="1 chunk"):
        prepare_for_cloud(chunks, Redactor(detector), ceiling=INTERNAL)


def test_without_redaction_the_text_is_sent_as_is() -> None:
    text = "Contacto: ana@example.es."

    [(cloud_chunk, redaction)] = prepare_for_cloud([chunk("a", PUBLIC, text)], None)

    assert cloud_chunk.text == redaction.text == text
    assert redaction.counts == {}
