# syntax=docker/dockerfile:1
# The Fuente image: the app (`fuente app`), the ingestion job (`fuente ingest`) and `fuente doctor`.
# Two stages: compilers and pip caches stay in the first, the runtime stage is python:slim plus
# tesseract and the virtual environment. Dependencies are installed under docker/constraints.txt
# (every package pinned to the versions the test suite ran with); the embedding model is pulled
# at build time and installed only when its sha256 matches the pin in configs/default.yaml.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# torch first, pinned, in its own call. PyPI's Linux wheel is the CUDA build (GPU embeddings);
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu gives a CPU-only image (embed-server profile).
ARG TORCH_INDEX_URL=https://pypi.org/simple
RUN pip install torch==2.13.0 --index-url ${TORCH_INDEX_URL}
WORKDIR /src
COPY docker/constraints.txt docker/constraints.txt
COPY pyproject.toml README.md ./
COPY rag rag
COPY ingest ingest
COPY ui ui
COPY eval eval
# llama-cpp-python (the embedded default's server) compiles here; a portable build, not tuned to
# the build machine's CPU, so the image runs on any x86-64 server.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF"
RUN pip install -c docker/constraints.txt .
COPY configs /opt/fuente/configs
# Catalog models to bake in (space-separated); `fuente models pull` verifies each sha256.
ARG PULL_MODELS=all-MiniLM-L6-v2
RUN FUENTE_HOME=/tmp/fuente FUENTE_CONFIG_DIR=/opt/fuente/configs FUENTE__PATHS__MODELS=/opt/fuente/models \
    fuente models pull ${PULL_MODELS} \
 && rm -rf /tmp/fuente

FROM ${PYTHON_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng poppler-utils libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/fuente /opt/fuente
RUN useradd --create-home --uid 10001 fuente \
 && mkdir -p /var/lib/fuente \
 && chown fuente /var/lib/fuente
# Settings come from /opt/fuente/configs (the package has no configs/ beside it); models from the
# image, read-only; index records, writer lock and logs from the volume at FUENTE_HOME.
ENV PATH=/opt/venv/bin:$PATH \
    FUENTE_HOME=/var/lib/fuente \
    FUENTE_PROFILE=gpu \
    FUENTE_CONFIG_DIR=/opt/fuente/configs \
    FUENTE__PATHS__MODELS=/opt/fuente/models \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1
USER fuente
WORKDIR /var/lib/fuente
VOLUME ["/var/lib/fuente"]
EXPOSE 8501
ENTRYPOINT ["fuente"]
CMD ["--help"]
