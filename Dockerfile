# CPU-only image: the project, the seeds index built at build time, served as a non-root user.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# LightGBM (the reader's trees) links the system's OpenMP runtime; the slim image lacks it.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 newsroom
WORKDIR /srv

# The CPU wheel of torch first, so nothing later pulls a CUDA build.
RUN pip install --index-url "$TORCH_INDEX" torch==2.13.0

COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install . && python -m app.archive.onnx_model && python -m app.reader.compiled_trees

COPY seeds ./seeds
RUN python -m app index seeds --index-dir index && chown -R newsroom:newsroom /srv

USER newsroom
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["python", "-m", "app", "serve", "--index-dir", "index", "--host", "0.0.0.0", "--port", "8000"]
