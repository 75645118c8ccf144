"""The ONNX export behind the faster embedding backends is trusted only while it verifies.

That every backend gives PyTorch's vectors and token counts is the embedder contract's
(tests/contracts/test_embedder_contract.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ingest.chunking import Chunker
from ingest.errors import FileRejected
from ingest.parsing import ParseOptions, parse_file
from rag import embed_backends
from rag.embedders import build_embedder, takes_token_ids
from rag.settings import REPO_ROOT
from rag.types import Block, BlockKind
from tests.helpers import SettingsFactory


def test_a_changed_export_is_not_trusted(tmp_path: Path, make_settings: SettingsFactory) -> None:
    build_embedder(make_settings(embedding={"backend": "onnx", "quantize": "none"}))  # the export exists and verifies
    source = Path(make_settings().paths.models_dir) / "all-MiniLM-L6-v2"
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    manifest = embed_backends._read_manifest(copy)
    assert embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)
    onnx_file = copy / embed_backends.EXPORT_DIR / embed_backends.FP32_FILE
    data = bytearray(onnx_file.read_bytes())
    data[-100] ^= 0xFF  # same size, other bytes
    onnx_file.write_bytes(bytes(data))
    assert not embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)


def test_an_int8_copy_whose_weights_changed_is_not_trusted(tmp_path: Path, make_settings: SettingsFactory) -> None:
    build_embedder(make_settings(embedding={"backend": "openvino", "quantize": "int8"}))
    source = Path(make_settings().paths.models_dir) / "all-MiniLM-L6-v2"
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    manifest = embed_backends._read_manifest(copy)
    assert embed_backends._verified(copy, manifest, embed_backends.OV_INT8_FILE)
    weights = copy / embed_backends.EXPORT_DIR / "model_int8_ov.bin"  # the .xml is unchanged
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert not embed_backends._verified(copy, manifest, embed_backends.OV_INT8_FILE)
    assert embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)


def test_calibration_text_is_not_the_verification_text() -> None:
    calibration = " ".join(embed_backends.calibration_texts())
    assert len(embed_backends.calibration_texts()) >= 100
    assert not any(sentence in calibration for sentence in embed_backends.VERIFY_SENTENCES)


def test_chunks_handed_as_token_ids_get_the_ids_and_vectors_of_their_texts(make_settings: SettingsFactory) -> None:
    # Ingestion tokenises each text once: the chunker builds a chunk's ids from the pieces it counted (a
    # chunk is its pieces joined by spaces and newlines) and the encoder takes them instead of the text.
    # Every chunk of the sample corpus (prose, tables, slides, sheets, mail), and of prose the chunker must
    # cut between sentences, words and characters, must get the ids its text has, and the same vector.
    settings = make_settings()
    embedder = build_embedder(settings)
    assert takes_token_ids(embedder)
    chunker = Chunker(
        settings.chunking,
        embedder.count_tokens,
        embedder.max_tokens,
        embedder.count_tokens_many,
        embedder.token_ids_many,
    )
    drafts = []
    for path in sorted(p for p in (REPO_ROOT / "samples" / "corpus").rglob("*") if p.is_file()):
        try:
            parsed = parse_file(path, ParseOptions(ocr=False))
        except FileRejected:
            continue
        drafts += chunker.chunk(parsed.blocks)
    sentence = "La válvula de alivio se revisa cada mañana antes del primer turno, sin excepción"
    long_prose = ". ".join([sentence] * 40) + ". " + " ".join(["palabra"] * 400) + " " + "x" * 3000
    rows = "\n".join(f"| fila {i} | {'dato ' * (200 if i == 3 else 3)}|" for i in range(60))
    drafts += chunker.chunk(
        [Block(long_prose), Block("| campo | valor |\n|---|---|\n" + rows, kind=BlockKind.TABLE), Block("Corto.")]
    )
    assert len(drafts) > 80
    texts = [d.text for d in drafts]
    assert [d.token_ids for d in drafts] == embedder.token_ids_many(texts)
    vectors = embedder.embed_token_ids([d.token_ids or () for d in drafts])
    assert np.allclose(vectors, embedder.embed_documents(texts), atol=1e-5)


def test_a_tokenizer_that_marks_word_starts_is_not_handed_joined_ids() -> None:
    # SentencePiece's Metaspace turns a space into part of the next token: the ids of "a b" are not the ids
    # of "a" then "b", so chunks must go to such a model as text.
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    assert not embed_backends.tokens_join(tokenizer)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.normalizer = normalizers.BertNormalizer()
    assert embed_backends.tokens_join(tokenizer)
    tokenizer.normalizer = normalizers.Replace(" ", "")  # joins the parts' words: their ids no longer follow
    assert not embed_backends.tokens_join(tokenizer)
