# Encoder service and ingest worker. On a GPU host, build with
#   --build-arg BASE=nvidia/cuda:12.8.0-runtime-ubuntu24.04
# and install the CUDA build of torch; the CPU build is the default.
ARG BASE=python:3.11-slim
FROM ${BASE}
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY pyproject.toml ./
COPY fashionrec ./fashionrec
COPY encoder_svc ./encoder_svc
COPY retrieval_svc ./retrieval_svc
COPY outfit_svc ./outfit_svc
COPY models ./models
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
ENV FASHIONREC_HOST=0.0.0.0
CMD ["python", "-m", "encoder_svc.server"]
