"""Structure-aware chunking measured in the embedding model's tokens.

A chunk never spans two pages, slides, sheets or attachments, so its citation is exact. Text is
packed paragraph by paragraph, falling back to sentences and then to words only when a piece
alone exceeds the budget; consecutive chunks share about ``overlap`` of their tokens. Tables are
split by rows and every piece repeats the header row. Markdown headings set the section path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from rag.settings import ChunkingSettings
from rag.types import Block, BlockKind

TokenCounter = Callable[[str], int]
ManyTokenCounter = Callable[[list[str]], list[int]]
TokenIds = tuple[int, ...]
ManyTokenIds = Callable[[list[str]], list[TokenIds]]
"""The model's token ids of each text, without special tokens."""

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A sentence ends at . ! ? … followed by space and an upper-case letter, digit, quote or ¿¡.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'«¿¡(\[0-9A-ZÁÉÍÓÚÑÜ])")


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it has ids and document metadata."""

    text: str
    tokens: int
    kind: BlockKind
    section: tuple[str, ...]
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    part: str | None = None
    part_title: str | None = None
    token_ids: TokenIds | None = None
    """The text's token ids (no special tokens), when the chunker was given the model's tokenizer."""


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int
    section: tuple[str, ...]
    ids: TokenIds | None = None


def _joined(parts: Sequence[TokenIds | None]) -> TokenIds | None:
    """The token ids of texts joined by whitespace: the parts' ids one after the other (None if any is unknown)."""
    if any(p is None for p in parts):
        return None
    return tuple(chain.from_iterable(p for p in parts if p is not None))


def _location(block: Block) -> tuple[object, ...]:
    return (block.page, block.slide, block.sheet, block.part)


class Chunker:
    """Turns parsed blocks into chunk drafts of at most ``budget`` tokens."""

    def __init__(
        self,
        settings: ChunkingSettings,
        count_tokens: TokenCounter,
        model_max_tokens: int,
        count_many: ManyTokenCounter | None = None,
        token_ids: ManyTokenIds | None = None,
    ) -> None:
        self.budget = min(settings.chunk_tokens, model_max_tokens)
        self.overlap_tokens = int(self.budget * settings.overlap)
        self.min_tokens = settings.min_chunk_tokens
        self._count_uncached = count_tokens
        self._count_many = count_many
        """Counts a document's paragraphs, their sentences and table lines in one call before packing."""
        self._token_ids = token_ids
        """With a tokenizer whose ids of a whitespace-joined text are its parts' ids one after the other
        (WordPiece), every draft carries its ids, built from the pieces counted anyway, and the encoder
        does not tokenise the chunk again. Counts then come from the ids."""
        # Counts of one document's texts: a paragraph is counted when split and again as a unit, an
        # overlap sentence once per chunk it starts; nearly half the calls repeat a text.
        self._counted: dict[str, int] = {}
        self._ids: dict[str, TokenIds] = {}

    def _count_at_once(self, blocks: list[Block]) -> None:
        """Token counts of what packing will ask about in ``blocks`` (their ids, with ``token_ids``), from one
        batch call.

        A paragraph of several sentences is not tokenised again: its count is the sum of its sentences'.
        The split takes only the whitespace between them, which WordPiece and SentencePiece turn into no
        token of its own, so the sum is the paragraph's count (the chunks are the same as counting it).
        """
        texts: list[str] = []
        split: dict[str, list[str]] = {}
        for block in blocks:
            pieces, paragraphs = _pieces(block)
            texts.extend(pieces)
            split.update(paragraphs)
        unique = list(dict.fromkeys(texts))
        if self._token_ids is not None:
            self._ids = dict(zip(unique, self._token_ids(unique), strict=True))
            for paragraph, sentences in split.items():
                self._ids.setdefault(paragraph, tuple(chain.from_iterable(self._ids[s] for s in sentences)))
            return
        assert self._count_many is not None
        self._counted = dict(zip(unique, self._count_many(unique), strict=True))
        for paragraph, sentences in split.items():
            self._counted.setdefault(paragraph, sum(self._counted[s] for s in sentences))

    def _count(self, text: str) -> int:
        ids = self._ids_of(text)
        if ids is not None:
            return len(ids)
        tokens = self._counted.get(text)
        if tokens is None:
            tokens = self._counted[text] = self._count_uncached(text)
        return tokens

    def _ids_of(self, text: str) -> TokenIds | None:
        if self._token_ids is None:
            return None
        ids = self._ids.get(text)
        if ids is None:
            ids = self._ids[text] = self._token_ids([text])[0]
        return ids

    def chunk(self, blocks: Iterable[Block]) -> list[ChunkDraft]:
        blocks = list(blocks)
        self._counted, self._ids = {}, {}
        if self._count_many is not None or self._token_ids is not None:
            self._count_at_once(blocks)
        drafts: list[ChunkDraft] = []
        group: list[Block] = []
        for block in blocks:
            if group and _location(block) != _location(group[0]):
                drafts.extend(self._chunk_location(group))
                group = []
            group.append(block)
        if group:
            drafts.extend(self._chunk_location(group))
        return drafts

    # -- one page / slide / sheet / attachment ------------------------------------------------
    def _chunk_location(self, blocks: list[Block]) -> list[ChunkDraft]:
        first = blocks[0]

        def make(text: str, tokens: int, kind: BlockKind, section: tuple[str, ...], ids: TokenIds | None) -> ChunkDraft:
            return ChunkDraft(
                text=text,
                tokens=tokens,
                kind=kind,
                section=section,
                page=first.page,
                slide=first.slide,
                sheet=first.sheet,
                part=first.part,
                part_title=first.part_title,
                token_ids=ids,
            )

        out: list[ChunkDraft] = []
        section: tuple[str, ...] = first.heading_path
        pending: list[_Unit] = []
        for block in blocks:
            if block.heading_path and block.heading_path != section and not pending:
                section = block.heading_path
            if block.kind is BlockKind.TABLE:
                out.extend(make(*piece) for piece in self._pack(pending))
                pending = []
                out.extend(make(text, tok, BlockKind.TABLE, section, ids) for text, tok, ids in self._table(block.text))
                continue
            for unit in self._units(block, section):
                pending.append(unit)
                section = unit.section
        out.extend(make(*piece) for piece in self._pack(pending))
        return self._merge_tiny(out)

    def _units(self, block: Block, section: tuple[str, ...]) -> Iterator[_Unit]:
        """Paragraph-sized units, with the section path in force at each."""
        base = block.heading_path or section
        path = list(base)
        for paragraph in _paragraphs(block.text):
            match = _HEADING.match(paragraph.splitlines()[0])
            if match:
                level = len(match.group(1))
                path = [*path[: level - 1], match.group(2)]
            current = tuple(path)
            for piece in self._split_oversized(paragraph):
                yield _Unit(piece, self._count(piece), current, self._ids_of(piece))

    def _split_oversized(self, text: str) -> list[str]:
        if self._count(text) <= self.budget:
            return [text]
        pieces: list[str] = []
        for sentence in _SENTENCE_END.split(text):
            if self._count(sentence) <= self.budget:
                pieces.append(sentence)
            else:
                pieces.extend(self._split_words(sentence))
        return pieces

    def _split_words(self, text: str) -> list[str]:
        """Last resort for a single over-long sentence: cut between words."""
        pieces: list[str] = []
        current: list[str] = []
        words = text.split()
        for word in words:
            if current and self._count(" ".join([*current, word])) > self.budget:
                pieces.append(" ".join(current))
                current = []
            if self._count(word) > self.budget:  # no spaces to cut at (CJK, long number lists)
                pieces.extend(self._split_chars(word))
                continue
            current.append(word)
        if current:
            pieces.append(" ".join(current))
        return pieces

    def _split_chars(self, text: str) -> list[str]:
        """Cut a run without spaces into the longest prefixes that fit (binary search on length)."""
        pieces: list[str] = []
        while text:
            low, high = 1, len(text)
            while low < high:
                mid = (low + high + 1) // 2
                if self._count(text[:mid]) <= self.budget:
                    low = mid
                else:
                    high = mid - 1
            pieces.append(text[:low])
            text = text[low:]
        return pieces

    def _pack(self, units: list[_Unit]) -> list[tuple[str, int, BlockKind, tuple[str, ...], TokenIds | None]]:
        """Greedy packing of units into chunks, with overlap and a fresh start at new sections."""
        chunks: list[tuple[str, int, BlockKind, tuple[str, ...], TokenIds | None]] = []
        current: list[_Unit] = []

        def flush() -> None:
            # The size packing went by (units plus one per separator), not a count of the joined text:
            # with a WordPiece or SentencePiece vocabulary a blank line joins no tokens, so it is an upper
            # bound, and counting every chunk again was half of the chunker's time.
            text = "\n\n".join(u.text for u in current)
            tokens = sum(u.tokens for u in current) + len(current) - 1
            chunks.append((text, tokens, BlockKind.TEXT, current[0].section, _joined([u.ids for u in current])))

        for unit in units:
            size = sum(u.tokens for u in current) + unit.tokens + len(current)
            new_section = bool(current) and unit.section != current[-1].section
            if current and (size > self.budget or (new_section and size > self.budget // 2)):
                flush()
                current = [] if new_section else self._overlap_tail(current, unit.tokens)
            current.append(unit)
        if current:
            flush()
        return chunks

    def _overlap_tail(self, previous: list[_Unit], incoming: int) -> list[_Unit]:
        """Trailing sentences of the previous chunk to repeat at the start of the next one."""
        room = min(self.overlap_tokens, self.budget - incoming - 1)
        if room <= 0:
            return []
        sentences = _SENTENCE_END.split(previous[-1].text)
        tail: list[str] = []
        used = 0
        for sentence in reversed(sentences):
            cost = self._count(sentence)
            if used + cost > room:
                break
            tail.insert(0, sentence)
            used += cost
        if not tail or len(tail) == len(sentences) and len(previous) == 1:
            return []
        text = " ".join(tail)
        return [_Unit(text, used, previous[-1].section, _joined([self._ids_of(s) for s in tail]))]

    def _table(self, table: str) -> list[tuple[str, int, TokenIds | None]]:
        head, rows = _table_parts(table)
        head_tokens = self._count(head)
        pieces: list[tuple[str, int, TokenIds | None]] = []

        def piece(lines: list[str], tokens: int) -> tuple[str, int, TokenIds | None]:
            return "\n".join(lines), tokens, _joined([self._ids_of(line) for line in lines])

        current: list[str] = []
        used = head_tokens
        for row in rows:
            cost = self._count(row) + 1
            if current and used + cost > self.budget:
                pieces.append(piece([head, *current], used))
                current, used = [], head_tokens
            if head_tokens + cost > self.budget:  # a single huge row: cut it like prose
                for words in self._split_words(row):
                    pieces.append(piece([head, words], self._count(head + "\n" + words)))
                continue
            current.append(row)
            used += cost
        if current or not pieces:
            pieces.append(piece([head, *current], used))
        return pieces

    def _merge_tiny(self, drafts: list[ChunkDraft]) -> list[ChunkDraft]:
        out: list[ChunkDraft] = []
        for draft in drafts:
            if (
                out
                and draft.tokens < self.min_tokens
                and draft.kind is BlockKind.TEXT
                and out[-1].kind is BlockKind.TEXT
                and out[-1].tokens + draft.tokens < self.budget
            ):
                prev = out.pop()
                text = prev.text + "\n\n" + draft.text
                out.append(
                    ChunkDraft(
                        text,
                        prev.tokens + draft.tokens + 1,
                        prev.kind,
                        prev.section,
                        prev.page,
                        prev.slide,
                        prev.sheet,
                        prev.part,
                        prev.part_title,
                        _joined([prev.token_ids, draft.token_ids]),
                    )
                )
            else:
                out.append(draft)
        return out


def _paragraphs(text: str) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if paragraph:
            yield paragraph


def _table_parts(table: str) -> tuple[str, list[str]]:
    """A Markdown table's header (with its rule line, when there is one) and its rows."""
    lines = [line for line in table.strip().splitlines() if line.strip()]
    if len(lines) >= 2 and set(lines[1].replace("|", "").strip()) <= set("-: "):
        header, rows = lines[:2], lines[2:]
    else:
        header, rows = lines[:1], lines[1:]
    return "\n".join(header), rows


def _pieces(block: Block) -> tuple[list[str], dict[str, list[str]]]:
    """The texts packing will count, tokenised once each: a table's header and rows, a paragraph of one
    sentence, the sentences of a longer paragraph (an over-long paragraph is split into them, and the
    overlap repeats them); and those longer paragraphs, each with its sentences."""
    if block.kind is BlockKind.TABLE:
        head, rows = _table_parts(block.text)
        return [head, *rows], {}
    texts: list[str] = []
    split: dict[str, list[str]] = {}
    for paragraph in _paragraphs(block.text):
        sentences = _SENTENCE_END.split(paragraph)
        if len(sentences) > 1:
            split[paragraph] = sentences
        texts.extend(sentences)
    return texts, split
