"""Evaluation datasets: our own JSONL question format and loaders for the public benchmarks.

Our format (one JSON object a line, ``samples/questions.jsonl`` is the checked-in example)::

    {"id": "a01", "question": "...", "language": "es", "reference_answer": "...",
     "accepted_answers": ["75"], "gold_sources": ["internal/politica_viajes.md"],
     "gold_chunk_ids": [], "answerable": true, "groups": [], "tags": ["numeric"]}

``id``, ``question`` and ``answerable`` are required; everything else has a default. Gold sources
are paths relative to the ingested corpus root.

Public sets are read where they lie (the shared data folder, given explicitly or through
``FUENTE_SHARED_DATA``), never copied into the repository. XQuAD and SQuAD-es share the SQuAD
format: each question becomes an :class:`EvalSample` whose ``context`` is its paragraph and whose
``doc_id`` names the paragraph, so a retrieval benchmark can index each paragraph as a document.
RAGTruth-QA, HaluEval and the RAGChecker human-labelled set have records of their own.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.errors import EvalError
from rag.settings import REPO_ROOT

SAMPLE_QUESTIONS = REPO_ROOT / "samples" / "questions.jsonl"


class DatasetError(EvalError):
    """A dataset is missing, unknown or malformed."""


@dataclass(frozen=True)
class EvalSample:
    """One evaluation question with what a good answer looks like."""

    id: str
    question: str
    language: str
    answerable: bool
    reference_answer: str | None = None
    accepted_answers: tuple[str, ...] = ()
    gold_sources: tuple[str, ...] = ()
    gold_chunk_ids: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()
    tags: tuple[str, ...] = ()
    context: str | None = None
    """Public sets: the gold paragraph (None for our own questions)."""
    doc_id: str | None = None
    """Public sets: the gold paragraph's id, also its only gold source."""

    def to_json(self) -> dict[str, Any]:
        """The sample in our JSONL format (public-set fields only where set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "language": self.language,
            "reference_answer": self.reference_answer,
            "accepted_answers": list(self.accepted_answers),
            "gold_sources": list(self.gold_sources),
            "gold_chunk_ids": list(self.gold_chunk_ids),
            "answerable": self.answerable,
            "groups": sorted(self.groups),
            "tags": list(self.tags),
        }
        if self.context is not None:
            out["context"] = self.context
        if self.doc_id is not None:
            out["doc_id"] = self.doc_id
        return out


# --------------------------------------------------------------------------- shared helpers


def dataset_hash(path: str | Path) -> str:
    """sha256 of the file's bytes: runs record it so two runs can be known to share their questions."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise DatasetError(f"Cannot read the dataset {path} ({e.strerror}); check the path.") from e
    return digest.hexdigest()


def shared_data_dir(explicit: str | Path | None = None) -> Path:
    """The shared data folder: ``explicit``, else ``FUENTE_SHARED_DATA``, else ``../shared/data``."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as e:
        raise DatasetError(f"The dataset {path} does not exist; give the right path or shared data folder.") from e
    except (OSError, ValueError) as e:
        raise DatasetError(f"The dataset {path} is not readable JSON ({e}); check the file.") from e


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError as e:
        raise DatasetError(f"The dataset {path} does not exist; give the right path or shared data folder.") from e
    except OSError as e:
        raise DatasetError(f"Cannot read the dataset {path} ({e.strerror}); check the path.") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise DatasetError(f"Line {n} of {path} is not valid JSON ({e}); fix or remove it.") from e
        if not isinstance(row, dict):
            raise DatasetError(f"Line {n} of {path} is not a JSON object; each line must be one question.")
        yield n, row


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


# --------------------------------------------------------------------------- our format


def load_jsonl(path: str | Path) -> list[EvalSample]:
    """Questions in our JSONL format.

    Raises:
        DatasetError: the file is missing, a line is not JSON, a required field is absent or an id repeats.
    """
    path = Path(path)
    out: list[EvalSample] = []
    seen: set[str] = set()
    for n, row in _read_jsonl(path):
        missing = [k for k in ("id", "question", "answerable") if k not in row]
        if missing:
            raise DatasetError(f"Line {n} of {path} lacks {', '.join(missing)}; every question needs them.")
        sid = str(row["id"])
        if sid in seen:
            raise DatasetError(f"Line {n} of {path} repeats the id {sid!r}; ids must be unique.")
        seen.add(sid)
        out.append(
            EvalSample(
                id=sid,
                question=str(row["question"]),
                language=str(row.get("language") or "es"),
                answerable=bool(row["answerable"]),
                reference_answer=row.get("reference_answer"),
                accepted_answers=_strings(row.get("accepted_answers")),
                gold_sources=_strings(row.get("gold_sources")),
                gold_chunk_ids=_strings(row.get("gold_chunk_ids")),
                groups=frozenset(_strings(row.get("groups"))),
                tags=_strings(row.get("tags")),
                context=row.get("context"),
                doc_id=row.get("doc_id"),
            )
        )
    return out


def write_jsonl(samples: Iterable[EvalSample], path: str | Path) -> None:
    """Writes samples in our JSONL format (UTF-8, one object a line)."""
    lines = [json.dumps(s.to_json(), ensure_ascii=False) for s in samples]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- SQuAD format


def load_squad(path: str | Path, language: str) -> list[EvalSample]:
    """XQuAD or SQuAD-es v1.1 / v2.0 questions, one sample each, with their paragraph as context.

    The paragraph id is ``<title>#<paragraph number>`` (stable across the parallel es/en XQuAD
    files, which list the same paragraphs in the same order). Unanswerable questions (v2.0
    ``is_impossible``) have ``answerable=False``, no accepted answers and the tag ``unanswerable``;
    their paragraph is still the ``doc_id`` (the one the question was written against).
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path} is not in SQuAD format (no top-level 'data' list); check the file.")
    out: list[EvalSample] = []
    for a, article in enumerate(data["data"]):
        title = str(article.get("title") or f"article{a}")
        for p, para in enumerate(article.get("paragraphs", [])):
            doc_id = f"{title}#{p}"
            context = str(para.get("context", "")).lstrip("\ufeff")  # two XQuAD-es contexts start with a BOM
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible", False))
                answers = tuple(dict.fromkeys(str(x["text"]) for x in qa.get("answers", []) if x.get("text")))
                out.append(
                    EvalSample(
                        id=str(qa["id"]),
                        question=str(qa["question"]).strip(),
                        language=language,
                        answerable=not impossible,
                        reference_answer=None if impossible or not answers else answers[0],
                        accepted_answers=() if impossible else answers,
                        gold_sources=(doc_id,),
                        tags=("unanswerable",) if impossible else (),
                        context=context,
                        doc_id=doc_id,
                    )
                )
    return out


def squad_paragraphs(samples: Iterable[EvalSample]) -> dict[str, str]:
    """The distinct paragraphs of SQuAD-format samples: ``doc_id -> text``, in first-seen order."""
    return {s.doc_id: s.context for s in samples if s.doc_id is not None and s.context is not None}


# --------------------------------------------------------------------------- hallucination sets


@dataclass(frozen=True)
class Span:
    """A labelled hallucinated span: character offsets into the response (end exclusive)."""

    start: int
    end: int
    label_type: str = ""


@dataclass(frozen=True)
class RAGTruthRecord:
    """One RAGTruth QA response with its human labels."""

    id: str
    query: str
    context: str
    """The retrieved passages the response was written from ("passage 1: ...")."""
    response: str
    spans: tuple[Span, ...]
    model: str
    source_id: str = ""

    @property
    def hallucinated(self) -> bool:
        """Response-level label: at least one human-labelled hallucinated span."""
        return bool(self.spans)


def load_ragtruth(path: str | Path) -> list[RAGTruthRecord]:
    """RAGTruth-QA test responses (the Query-Conditioned-NLI export: d1 passages, d2 response, labels)."""
    path = Path(path)
    out: list[RAGTruthRecord] = []
    for n, row in _read_jsonl(path):
        try:
            spans = tuple(
                Span(int(s["start"]), int(s["end"]), str(s.get("label_type", ""))) for s in row.get("labels") or []
            )
            out.append(
                RAGTruthRecord(
                    id=str(row["id"]),
                    query=str(row["query"]),
                    context=str(row["d1"]),
                    response=str(row["d2"]),
                    spans=spans,
                    model=str(row.get("model", "")),
                    source_id=str(row.get("source_id", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"Line {n} of {path} is not a RAGTruth record ({e!r}); check the file.") from e
    return out


@dataclass(frozen=True)
class HaluEvalRecord:
    """One HaluEval item: a response and whether it is hallucinated.

    The QA sets give each question a right and a hallucinated answer; they are loaded as two
    records (ids ``<n>-right`` and ``<n>-hallucinated``). The general set has one ChatGPT response
    per query, labelled by humans.
    """

    id: str
    question: str
    knowledge: str
    response: str
    hallucinated: bool
    task: str


def load_halueval(path: str | Path) -> list[HaluEvalRecord]:
    """A HaluEval file (``qa_*_data.json`` or ``general_data.json``; one JSON object a line)."""
    path = Path(path)
    out: list[HaluEvalRecord] = []
    for n, row in _read_jsonl(path):
        if "right_answer" in row:
            base = dict(question=str(row.get("question", "")), knowledge=str(row.get("knowledge", "")), task="qa")
            out.append(HaluEvalRecord(f"{n}-right", response=str(row["right_answer"]), hallucinated=False, **base))
            out.append(
                HaluEvalRecord(f"{n}-hallucinated", response=str(row["hallucinated_answer"]), hallucinated=True, **base)
            )
        elif "chatgpt_response" in row:
            out.append(
                HaluEvalRecord(
                    id=str(row.get("ID", n)),
                    question=str(row.get("user_query", "")),
                    knowledge="",
                    response=str(row["chatgpt_response"]),
                    hallucinated=str(row.get("hallucination", "no")).lower() == "yes",
                    task="general",
                )
            )
        else:
            raise DatasetError(f"Line {n} of {path} is neither a HaluEval QA nor a general record; check the file.")
    return out


@dataclass(frozen=True)
class RAGCheckerPair:
    """One RAGChecker human judgement: which of two RAG responses is better.

    Labels are the annotator's preference on a five-point scale from -2 to 2 (0 is a tie; the sign
    says which response is better, see ``eval.judges`` for the convention used); ``annotator`` is
    0 or 1 by order of appearance.
    """

    instance_id: str
    annotator: int
    dataset: str
    query: str
    gt_answer: str
    response1: str
    response2: str
    model1: str
    model2: str
    correctness: int
    completeness: int
    overall: int


def _model_response(value: Any) -> tuple[str, str]:
    # The upstream file stores each model's output as a Python dict literal in a string.
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return "", value
    if isinstance(value, dict):
        return str(value.get("model_name", "")), str(value.get("response", ""))
    return "", str(value)


def load_ragchecker(path: str | Path) -> list[RAGCheckerPair]:
    """The RAGChecker human-labelled meta-evaluation set (280 instances x 2 annotators)."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path} is not the RAGChecker human-labelled list; check the file.")
    out: list[RAGCheckerPair] = []
    seen: dict[str, int] = {}
    for row in data:
        try:
            iid = str(row["instance_id"])
            m1, r1 = _model_response(row["model1"])
            m2, r2 = _model_response(row["model2"])
            out.append(
                RAGCheckerPair(
                    instance_id=iid,
                    annotator=seen.get(iid, 0),
                    dataset=str(row.get("dataset", "")),
                    query=str(row["query"]),
                    gt_answer=str(row.get("gt_answer", "")),
                    response1=r1,
                    response2=r2,
                    model1=m1,
                    model2=m2,
                    correctness=int(row["correctness_label"]),
                    completeness=int(row["completeness_label"]),
                    overall=int(row["overall_label"]),
                )
            )
            seen[iid] = seen.get(iid, 0) + 1
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"{path} has a malformed record ({e!r}); check the file.") from e
    return out


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class _Named:
    relative: str
    language: str = "es"
    kind: str = "squad"
    aliases: tuple[str, ...] = field(default=())


PUBLIC_SETS: dict[str, _Named] = {
    "xquad-es": _Named("qa/xquad.es.json", "es"),
    "xquad-en": _Named("qa/xquad.en.json", "en"),
    "squad-es-v1": _Named("qa/dev-v1.1-es_small.json", "es"),
    "squad-es-v2": _Named("qa/dev-v2.0-es_small.json", "es"),
}
"""Names of the public question sets ``load_dataset`` resolves under the shared data folder."""

OTHER_SETS: dict[str, str] = {
    "ragtruth-qa": "hallucination/ragtruth_qa_test.jsonl",
    "halueval-qa": "hallucination/halueval/qa_one-turn_data.json",
    "halueval-general": "hallucination/halueval/general_data.json",
    "ragchecker": "hallucination/ragchecker_human_labeled.json",
}
"""Paths of the hallucination sets under the shared data folder (their own record types)."""


def dataset_path(name_or_path: str | Path, shared: str | Path | None = None) -> Path:
    """The file behind a dataset name ("sample", "xquad-es", "ragtruth-qa", ...) or a path."""
    key = str(name_or_path).lower()
    if key in ("sample", "samples", "sample-questions"):
        return SAMPLE_QUESTIONS
    if key in PUBLIC_SETS:
        return shared_data_dir(shared) / PUBLIC_SETS[key].relative
    if key in OTHER_SETS:
        return shared_data_dir(shared) / OTHER_SETS[key]
    return Path(name_or_path)


def load_dataset(name_or_path: str | Path, shared: str | Path | None = None) -> list[EvalSample]:
    """Questions from a name or a path.

    Args:
        name_or_path: ``sample`` (our checked-in set), a public set name (``xquad-es``, ``xquad-en``,
            ``squad-es-v1``, ``squad-es-v2``), a ``.jsonl`` file in our format, or a ``.json`` file in
            SQuAD format (language guessed from ".es."/".en." in its name, else Spanish).
        shared: the shared data folder for public set names (default: ``FUENTE_SHARED_DATA`` or
            ``../shared/data``).

    Raises:
        DatasetError: unknown name, missing file, or a format it cannot read.
    """
    key = str(name_or_path).lower()
    if key in OTHER_SETS:
        raise DatasetError(
            f"{name_or_path} holds labelled responses, not questions; use the detector benchmark for it."
        )
    path = dataset_path(name_or_path, shared)
    if key in PUBLIC_SETS:
        if not path.exists():
            raise DatasetError(
                f"{path} is absent; pass the shared data folder (--shared-data) or set FUENTE_SHARED_DATA."
            )
        return load_squad(path, PUBLIC_SETS[key].language)
    if path.suffix == ".jsonl":
        return load_jsonl(path)
    if path.suffix == ".json":
        language = "en" if ".en." in path.name else "es"
        return load_squad(path, language)
    known = ", ".join(["sample", *PUBLIC_SETS])
    raise DatasetError(f"Unknown dataset {name_or_path!s}; give a .jsonl file or one of: {known}.")


def dev_or_test(key: str) -> str:
    """The half a question or response belongs to, by a hash of its id: never by its results.

    Thresholds and weights are chosen on "dev" and reported on "test" (calibration, detectors).
    """
    return "dev" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "test"
