# Encoder service and ingest worker: the base dependencies and the `encoder`
# extra (torch). CPU by default; for a GPU host deploy/compose.gpu.yml builds it with
#   --build-arg BASE=nvidia/cuda:12.8.0-runtime-ubuntu24.04
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# CUDA runtime images have no Python; python:*-slim has it.
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt pyproject.toml ./
# torch first, from the index that matches the base (CPU or CUDA build of the pinned version);
# the extra's `torch==X` is then already satisfied (a local +cpu/+cu128 label matches it).
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX}" "torch==$(grep -oP '^torch==\K[0-9.]+' requirements.txt)" \
 && grep -v '^torch==' requirements.txt > constraints.txt
COPY fashionrec ./fashionrec
COPY fashionrec_grpc ./fashionrec_grpc
COPY fashionrec_cli ./fashionrec_cli
COPY encoder_svc ./encoder_svc
COPY retrieval_svc ./retrieval_svc
COPY outfit_svc ./outfit_svc
COPY models ./models
COPY deploy/bootstrap.py deploy/grpc_health_probe.py ./deploy/
RUN pip install --no-cache-dir -c constraints.txt ".[encoder]"
ENV FASHIONREC_HOST=0.0.0.0
EXPOSE 50051 9464
CMD ["python", "-m", "encoder_svc.server"]
