# Retrieval and outfit services (and the bootstrap job): no torch in the
# image, the query path never imports it.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt deploy/dev-only.txt ./
RUN grep -vxiE "($(grep -v '^#' dev-only.txt | paste -sd'|' -)|torch|sympy|networkx|mpmath|jinja2|markupsafe|filelock|fsspec)==.*" \
      requirements.txt > requirements-image.txt \
 && pip install --no-cache-dir -r requirements-image.txt
COPY pyproject.toml ./
COPY fashionrec ./fashionrec
COPY retrieval_svc ./retrieval_svc
COPY outfit_svc ./outfit_svc
COPY encoder_svc ./encoder_svc
COPY models ./models
COPY deploy/bootstrap.py deploy/grpc_health_probe.py ./deploy/
# --no-deps: pyproject names torch, which this image leaves out on purpose.
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
ENV FASHIONREC_HOST=0.0.0.0
# The service to run: retrieval_svc.server or outfit_svc.server.
ARG SERVICE=retrieval_svc.server
ENV SERVICE=${SERVICE}
EXPOSE 50052 50053 9465 9466
CMD ["sh", "-c", "exec python -m ${SERVICE}"]
