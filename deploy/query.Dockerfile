# Retrieval and outfit services: no torch in the image (they never import it).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt ./
RUN grep -viE '^(torch|sympy|networkx|mpmath|jinja2|markupsafe|filelock|fsspec|grpcio-tools|pytest|pytest-timeout|iniconfig|pluggy|pygments)==' requirements.txt > requirements-serving.txt \
 && pip install --no-cache-dir -r requirements-serving.txt
COPY pyproject.toml ./
COPY fashionrec ./fashionrec
COPY retrieval_svc ./retrieval_svc
COPY outfit_svc ./outfit_svc
COPY encoder_svc ./encoder_svc
COPY models ./models
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
ENV FASHIONREC_HOST=0.0.0.0
# The service to run: retrieval_svc.server or outfit_svc.server.
ARG SERVICE=retrieval_svc.server
ENV SERVICE=${SERVICE}
CMD python -m ${SERVICE}
