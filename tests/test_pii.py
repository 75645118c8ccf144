"""Tests for rag.pii: personal data never survives redaction, and the numbers users ask about do."""

from __future__ import annotations

import socket
import sys
from typing import Any

import pytest

from rag.pii import PiiDetector, Redactor, total_counts


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


@pytest.fixture
def redactor(detector: PiiDetector) -> Redactor:
    return Redactor(detector)


@pytest.mark.parametrize(
    ("sentence", "value", "label"),
    [
        ("Titular: Ana García, DNI 12345678Z, con domicilio en Madrid.", "12345678Z", "DNI"),
        ("El dni 12345678-z figura en el contrato.", "12345678-z", "DNI"),
        ("Trabajador extranjero con NIE X1234567L desde 2024.", "X1234567L", "NIE"),
        (
            "Transferir a la cuenta ES91 2100 0418 4502 0005 1332 antes del día 5.",
            "ES91 2100 0418 4502 0005 1332",
            "IBAN",
        ),
        ("IBAN: ES9121000418450200051332.", "ES9121000418450200051332", "IBAN"),
        ("Llame al +34 612 345 678 para confirmar.", "+34 612 345 678", "PHONE"),
        ("Móvil de guardia: 612345678.", "612345678", "PHONE"),
        ("Centralita 91 123 45 67, extensión de RR. HH.", "91 123 45 67", "PHONE"),
        ("Call our US office at (555) 123-4567 before noon.", "(555) 123-4567", "PHONE"),
        ("London desk: +44 20 7946 0958.", "+44 20 7946 0958", "PHONE"),
        ("Escriba a ana.garcia@example.es con copia a su responsable.", "ana.garcia@example.es", "EMAIL"),
        ("Internal contact: j.perez@rrhh.empresa.local.", "j.perez@rrhh.empresa.local", "EMAIL"),
        ("Tarjeta corporativa 4111 1111 1111 1111, caduca en 2027.", "4111 1111 1111 1111", "CARD"),
        ("Card 5555-5555-5555-4444 was charged.", "5555-5555-5555-4444", "CARD"),
    ],
)
def test_personal_data_is_replaced_by_a_placeholder(redactor: Redactor, sentence: str, value: str, label: str) -> None:
    redaction = redactor.redact(sentence)

    assert value not in redaction.text
    # No fragment of it either: a half-masked IBAN or phone still identifies someone.
    for digits in value.replace("-", " ").split():
        if len(digits) >= 4:
            assert digits not in redaction.text
    assert f"<{label}_1>" in redaction.text
    assert redaction.counts == {label: 1}
    assert redaction.text == sentence.replace(value, f"<{label}_1>")


def test_a_chunk_with_every_kind_keeps_its_prose(redactor: Redactor) -> None:
    text = (
        "Nómina de marzo. Empleada: DNI 12345678Z; cuenta ES91 2100 0418 4502 0005 1332; "
        "teléfono +34 612 345 678; correo ana.garcia@example.es; tarjeta 4111 1111 1111 1111; "
        "cónyuge con NIE Y2345678Z. Importe neto: 1.250,00 € el 15/03/2026."
    )

    redaction = redactor.redact(text)

    assert redaction.text == (
        "Nómina de marzo. Empleada: DNI <DNI_1>; cuenta <IBAN_1>; "
        "teléfono <PHONE_1>; correo <EMAIL_1>; tarjeta <CARD_1>; "
        "cónyuge con NIE <NIE_1>. Importe neto: 1.250,00 € el 15/03/2026."
    )
    assert redaction.counts == {"CARD": 1, "DNI": 1, "EMAIL": 1, "IBAN": 1, "NIE": 1, "PHONE": 1}


@pytest.mark.parametrize(
    "text",
    [
        "La reunión es el 15/03/2026 a las 15:30 (o el 2026-03-15 según el sistema; 15.03.2026 en el acta).",
        "Se aprobó un gasto de 1.250,00 € con un 21 % de IVA y un descuento del 3,5%.",
        "El presupuesto total asciende a 12.345.678,90 EUR y el anterior fue de 912.345.678,00 euros.",
        "Importe máximo: 612.345.678 € por ejercicio; €712.345.678 en total.",
        "Según el artículo 14.2 del Real Decreto 1619/2012 y la Ley 39/2015, de 1 de octubre.",
        "Factura 2026-0042, pedido 123456, código postal 28013, expediente 2025/000123.",
        "Población: 100000000 habitantes; versión 2.2.366 del programa; ISO 27001.",
        "Revenue grew 12.5% to $1,250,000.00 in Q3 2025 (section 4.2.1, order #20260315).",
        "Shipped 10,000 units on 03/15/2026; ratio 3.14159; extension 1234.",
    ],
)
def test_numbers_that_are_facts_stay_intact(redactor: Redactor, text: str) -> None:
    redaction = redactor.redact(text)

    assert redaction.text == text
    assert redaction.counts == {}


@pytest.mark.parametrize(
    "text",
    [
        "Referencia interna 12345678A.",  # the DNI control letter for 12345678 is Z
        "Número X1234567A en el registro.",  # the NIE control letter is L
        "Tarjeta de prueba 4111 1111 1111 1112.",  # fails the Luhn check
        "Cuenta ES00 2100 0418 4502 0005 1332.",  # wrong IBAN check digits
    ],
)
def test_lookalikes_with_a_wrong_checksum_stay(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text).text == text


def test_same_value_same_placeholder_within_a_session(redactor: Redactor) -> None:
    first = redactor.redact("Llame a Ana al 612 345 678 o escriba a ana@example.es.")
    second = redactor.redact("Ana (+34 612345678, ANA@EXAMPLE.ES) y Luis (699 12 34 56).")

    assert first.text == "Llame a Ana al <PHONE_1> o escriba a <EMAIL_1>."
    assert second.text == "Ana (<PHONE_1>, <EMAIL_1>) y Luis (<PHONE_2>)."
    assert total_counts([first, second]) == {"EMAIL": 2, "PHONE": 3}


def test_a_fresh_session_numbers_from_one_and_is_deterministic(redactor: Redactor) -> None:
    redactor.redact("Otro: 699 12 34 56.")
    text = "DNI 12345678Z y 87654321X; teléfono 612345678."

    a = redactor.fresh().redact(text)
    b = redactor.fresh().redact(text)

    assert a == b
    assert a.text == "DNI <DNI_1> y <DNI_2>; teléfono <PHONE_1>."


def test_redaction_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # Presidio's own e-mail check asks tldextract, which downloads the public suffix list the first
    # time (and caches it for the process, so blocking sockets alone would pass by luck of order).
    import tldextract

    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(tldextract, "extract", refuse)
    redaction = Redactor(PiiDetector()).redact("Escriba a soporte@fuente.example.com o a rrhh@empresa.es.")

    assert redaction.text == "Escriba a <EMAIL_1> o a <EMAIL_2>."
    assert calls == []


def test_missing_presidio_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    monkeypatch.setitem(sys.modules, "presidio_analyzer.predefined_recognizers", None)

    with pytest.raises(ImportError, match="pip install presidio-analyzer"):
        Redactor()
