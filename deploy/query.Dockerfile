# Retrieval and outfit services (and the bootstrap job): the package's base
# dependencies only, no torch; the query path never imports it (tests/test_architecture.py).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt pyproject.toml ./
COPY fashionrec ./fashionrec
COPY fashionrec_grpc ./fashionrec_grpc
COPY fashionrec_cli ./fashionrec_cli
COPY retrieval_svc ./retrieval_svc
COPY outfit_svc ./outfit_svc
COPY encoder_svc ./encoder_svc
COPY models ./models
COPY deploy/bootstrap.py deploy/grpc_health_probe.py ./deploy/
# requirements.txt pins every version; as constraints it pins only what the base needs.
RUN pip install --no-cache-dir -c requirements.txt .
ENV FASHIONREC_HOST=0.0.0.0
# The service to run: retrieval_svc.server or outfit_svc.server.
ARG SERVICE=retrieval_svc.server
ENV SERVICE=${SERVICE}
EXPOSE 50052 50053 9465 9466
CMD ["sh", "-c", "exec python -m ${SERVICE}"]
