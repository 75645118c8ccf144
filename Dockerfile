# Fuente application image (ingestion worker now; the Streamlit app joins it in a later issue).
# Slim, non-root, pinned dependencies; models are provisioned at first start with sha256 checks
# into the volume mounted at FUENTE_HOME.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng poppler-utils \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag rag
COPY ingest ingest
COPY ui ui
COPY eval eval
COPY configs configs
# torch is pinned and installed on its own (the CUDA or CPU build is chosen by TORCH_INDEX).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX} \
 && pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 fuente && mkdir -p /var/lib/fuente && chown fuente /var/lib/fuente
USER fuente
ENV FUENTE_HOME=/var/lib/fuente FUENTE_PROFILE=gpu
ENTRYPOINT ["fuente"]
CMD ["--help"]
