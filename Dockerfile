# bookapi API and worker image. Dependencies install before the source is copied,
# so editing code does not reinstall them; the process runs as nobody.
# Pin the base by digest for repeatable builds: docker buildx imagetools inspect
# python:3.11-slim, then --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY settings.py worker.py ./
# Only the package ships: development tooling (devstack/, bench/) and tests stay out.
COPY bookapi ./bookapi

USER nobody
ENV BOOKAPI_ENV=production PORT=5000
EXPOSE 5000
# Liveness (the process answers); docker-compose.yml uses the same check.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"
# bookapi.serve checks the settings first (exit code 2 with the reason), then runs Granian.
CMD ["sh", "-c", "exec python -m bookapi.serve --host 0.0.0.0 --port ${PORT} --workers ${WEB_WORKERS:-2}"]
