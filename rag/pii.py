"""Mask personal data before a chunk leaves for a cloud model.

Detection uses Presidio's pattern recognizers only (e-mail, phone, IBAN, card, Spanish DNI/NIF and
NIE), called directly: Presidio's ``AnalyzerEngine`` always builds a spaCy NLP engine, and the spaCy
language models are not something Fuente can rely on being installed. Pattern recognizers need no
model; their checksums (IBAN mod-97, Luhn, the DNI/NIE control letter) keep numbers that merely look
like identifiers (amounts, dates, article numbers) in the text, because numbers are the facts users
ask about.

A :class:`Redactor` is one session (one question): the same value always gets the same placeholder
(``<PHONE_1>``), so the model can still say "call <PHONE_1>" and the answer stays readable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

INSTALL_HINT = "pip install presidio-analyzer==2.2.366"

LABELS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "CARD",
    "ES_NIF": "DNI",
    "ES_NIE": "NIE",
}
"""Presidio entity type -> the placeholder name the cloud model sees."""

# When two findings overlap and are equally long, the more specific one wins (an IBAN holds digit
# groups that also parse as phone numbers).
_PRIORITY = ("IBAN", "CARD", "EMAIL", "NIE", "DNI", "PHONE")

PHONE_REGIONS = ("ES", "US", "GB")
"""Regions whose national formats are recognised without a +prefix (international ones always are)."""

# phonenumbers' VALID leniency still accepts Spanish amounts written with thousands dots
# ("912.345.678,00 €") and file numbers with slashes ("2025/000123"); these read as quantities.
_AMOUNT_AFTER = re.compile(r"\s?(?:[.,]\d|%|€|\$|£|(?:eur|euros?|usd|dólares|dollars|gbp)\b)", re.IGNORECASE)
_AMOUNT_BEFORE = re.compile(r"(?:[€$£]|\b(?:eur|usd|gbp))\s?$", re.IGNORECASE)
_EMAIL_TLD = re.compile(r"\.[^\W\d_]{2,}$")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in a text (offsets into that text)."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """A text with its personal data replaced by placeholders, and how many of each were replaced.

    ``counts`` never holds the original values: it is what the egress log records.
    """

    text: str
    counts: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def total_counts(redactions: Iterable[Redaction]) -> dict[str, int]:
    """Add up the counts of several redactions (label -> number of values replaced)."""
    total: Counter[str] = Counter()
    for redaction in redactions:
        total.update(redaction.counts)
    return dict(sorted(total.items()))


def _build_recognizers(regions: Sequence[str]) -> list[EntityRecognizer]:
    """Presidio's pattern recognizers for the kinds in :data:`LABELS` (none needs spaCy)."""
    try:
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            EsNieRecognizer,
            EsNifRecognizer,
            IbanRecognizer,
            PhoneRecognizer,
        )
    except ImportError as e:
        raise ImportError(
            f"PII redaction for cloud models needs Presidio's analyzer; install it with `{INSTALL_HINT}` "
            "(or `pip install -e .`), or keep policy.cloud_enabled false."
        ) from e

    class OfflineEmailRecognizer(EmailRecognizer):
        # Presidio validates the domain with tldextract, which downloads the public suffix list
        # on first use: a network call from a privacy filter, and a different answer offline.
        # Any alphabetic top-level label is enough here, which also covers internal domains
        # (ana@rrhh.empresa.local) that a public-suffix check would let through.
        def validate_result(self, pattern_text: str) -> bool:
            return bool(_EMAIL_TLD.search(pattern_text))

    return [
        OfflineEmailRecognizer(),
        IbanRecognizer(),
        CreditCardRecognizer(),
        EsNifRecognizer(),
        EsNieRecognizer(),
        # VALID numbers (leniency 1) in national or international form.
        PhoneRecognizer(supported_regions=tuple(regions), leniency=1),
        # Merely possible numbers (leniency 0) only when written like phones, "(555) 123-4567"
        # or "+1 555 123 4567": at that leniency bare digit runs (dates, totals) also match.
        PhoneRecognizer(supported_regions=tuple(regions), leniency=0, name="PossiblePhone"),
    ]


class PiiDetector:
    """Finds e-mails, phones, IBANs, card numbers, DNIs and NIEs with Presidio's pattern recognizers.

    Stateless after construction and safe to share between redactor sessions.

    Raises:
        ImportError: presidio-analyzer is not installed (the message says what to install).
    """

    def __init__(self, phone_regions: Sequence[str] = PHONE_REGIONS) -> None:
        self._recognizers = _build_recognizers(phone_regions)

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in text order; the longest wins where two overlap."""
        found: list[Finding] = []
        for recognizer in self._recognizers:
            name = str(getattr(recognizer, "name", ""))
            # No NLP artifacts: pattern and phone recognizers work on the raw text alone.
            for result in recognizer.analyze(text, recognizer.supported_entities, None):  # type: ignore[arg-type]
                if result.score <= 0 or result.entity_type not in LABELS:
                    continue
                start, end = result.start, result.end
                if result.entity_type == "PHONE_NUMBER":
                    start, end = _balance(text, start, end)
                    if not _phone_ok(name, text, start, end):
                        continue
                found.append(Finding(LABELS[result.entity_type], start, end))
        return _resolve_overlaps(found)


def _balance(text: str, start: int, end: int) -> tuple[int, int]:
    """Leave an unpaired bracket in the text: phonenumbers takes the "(" of "(+34 612 345 678, ...)"."""
    value = text[start:end]
    if value.startswith("(") and ")" not in value:
        start += 1
    if value.endswith(")") and "(" not in value:
        end -= 1
    return start, end


def _phone_ok(recognizer_name: str, text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if recognizer_name == "PossiblePhone" and not value.startswith(("+", "(")):
        return False
    if "/" in value and not value.startswith("+"):
        return False
    return not (_AMOUNT_AFTER.match(text, end) or _AMOUNT_BEFORE.search(text, 0, start))


def _resolve_overlaps(found: list[Finding]) -> list[Finding]:
    ordered = sorted(set(found), key=lambda f: (-(f.end - f.start), _PRIORITY.index(f.label), f.start))
    kept: list[Finding] = []
    for finding in ordered:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def _identity(label: str, value: str) -> str:
    """What makes two spellings the same value: "+34 612 345 678" and "612345678" are one phone."""
    compact = re.sub(r"[\s().\-]", "", value).upper()
    if label == "PHONE":
        if compact.startswith("0034"):
            compact = "+34" + compact[4:]
        elif not compact.startswith("+") and len(compact) == 9:
            compact = "+34" + compact
    return compact


class Redactor:
    """Replaces personal data with numbered placeholders, consistently within one session.

    Use one redactor per question (or :meth:`fresh` for the next one) so that placeholders number
    from 1 and nothing links two questions. Not thread-safe.

    Raises:
        ImportError: presidio-analyzer is not installed (raised here, not at the first redaction).
    """

    def __init__(self, detector: PiiDetector | None = None) -> None:
        self.detector = detector or PiiDetector()
        self._placeholders: dict[tuple[str, str], str] = {}
        self._numbers: Counter[str] = Counter()

    def fresh(self) -> Redactor:
        """A new session sharing this one's detector."""
        return Redactor(self.detector)

    def redact(self, text: str) -> Redaction:
        findings = self.detector.find(text)
        counts: Counter[str] = Counter()
        parts: list[str] = []
        last = 0
        for finding in findings:
            parts.append(text[last : finding.start])
            parts.append(self._placeholder(finding.label, text[finding.start : finding.end]))
            counts[finding.label] += 1
            last = finding.end
        parts.append(text[last:])
        return Redaction("".join(parts), dict(sorted(counts.items())))

    def _placeholder(self, label: str, value: str) -> str:
        key = (label, _identity(label, value))
        if key not in self._placeholders:
            self._numbers[label] += 1
            self._placeholders[key] = f"<{label}_{self._numbers[label]}>"
        return self._placeholders[key]
