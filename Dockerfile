# The GitHub App in a container: one image for the web processes (gunicorn, the default command)
# and the workers (`challenge-bot worker`). See docs/deploy.md; compose.yaml runs both with PostgreSQL.
#
#   docker build -t challenge-bot .
#   docker run --env-file bot.env -p 8000:8000 challenge-bot                     # web
#   docker run --env-file bot.env challenge-bot challenge-bot worker --threads 4  # a worker

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
# Wheels for the package and everything it needs (the App and the PostgreSQL store), built once.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[app,postgres]'

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin challenge-bot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHALLENGE_BOT_DB=/data/challenge-bot.sqlite3 \
    CHALLENGE_BOT_WORKERS=0
RUN mkdir /data && chown challenge-bot:challenge-bot /data
VOLUME /data
USER 10001:10001
WORKDIR /data
EXPOSE 8000
# The web processes answer /healthz?only=store (503, saying why, when the store is unreachable; without
# ?only=store also when the queue stalls, which is the workers' health, not theirs). Workers serve no
# HTTP: compose.yaml turns this check off for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz?only=store', timeout=4).status != 200)"]
# Web only (CHALLENGE_BOT_WORKERS=0): the GitHub work runs in `challenge-bot worker` containers.
CMD ["gunicorn", "--workers", "2", "--threads", "8", "--worker-class", "gthread", "--worker-tmp-dir", "/dev/shm", \
     "--bind", "0.0.0.0:8000", "--access-logfile", "-", "bot.service.app:create_app()"]
