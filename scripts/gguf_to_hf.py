"""Convert a GGUF chat model into a Hugging Face-format folder that vLLM can serve.

vLLM's CPU build loads safetensors folders, while the project's models are pinned as GGUF files
(byte-identical to the official releases). transformers reads a GGUF file and dequantizes it; saving
that model gives the folder. Run it with the vLLM venv's python (transformers and gguf live there):

    .venv-vllm/bin/python scripts/gguf_to_hf.py --gguf M.gguf --out M-hf/

The output appears all at once: it is written to a temporary folder beside ``--out`` and renamed,
so an interrupted run never leaves a half-written model that a later run would take as done.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def convert(gguf: Path, out: Path) -> None:
    """Write the model and tokenizer of ``gguf`` into the folder ``out``, atomically."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise SystemExit("transformers is missing; run this with .venv-vllm/bin/python (`make vllm`).") from e

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # Dequantized to float32, the exact values of the GGUF. Not bfloat16 to halve the folder:
        # on CPUs without AVX-512 vLLM runs bfloat16 about 3.5 times slower than float32.
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The weights are already dequantized, but the model still carries the GGUF
        # quantizer and its config; saved as they are, vLLM would take the folder for a GGUF model.
        model.hf_quantizer = None  # type: ignore[assignment]  # torch types Module attributes as Tensor | Module
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if "quantization_config" in json.loads((tmp / "config.json").read_text()):
            raise SystemExit("the saved config.json still names the GGUF quantization; vLLM would not load it.")
        # mkdtemp makes a private folder; give the result the permissions an ordinary folder gets.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        for f in tmp.iterdir():
            f.chmod(0o666 & ~umask)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gguf", type=Path, required=True, help="The GGUF model file to convert.")
    parser.add_argument("--out", type=Path, required=True, help="The folder to create (must not exist yet).")
    args = parser.parse_args(argv)
    gguf: Path = args.gguf
    out: Path = args.out
    if not gguf.is_file():
        print(f"{gguf} does not exist; run `make models` first.", file=sys.stderr)
        return 2
    if out.exists():
        print(f"{out} already exists; nothing to do (delete it to convert again).")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    convert(gguf, out)
    print(f"converted {gguf.name} -> {out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
