# One image for every Python service of the stack: worker, publisher, flower,
# dashboard, scheduler and one-off `benchq enqueue` runs. The command picks the role:
#   docker run --env-file .env --env-file env/models.env benchq worker --role models
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, from pyproject.toml alone, so a code change rebuilds
# only the last layers. The stub package lets pip resolve benchq's deps.
WORKDIR /app
COPY pyproject.toml README.md ./
RUN mkdir benchq && touch benchq/__init__.py \
    && pip install . \
    && pip uninstall -y benchq \
    && rm -rf benchq build

# The package carries its data (sample suite, registry, prompt, SQL
# migrations in benchq/store/migrations, which supabase/migrations links to).
COPY benchq ./benchq
RUN pip install --no-deps . && rm -rf build

# Every published figure names the commit it came from: the image carries it
# (docker compose build --build-arg BENCHQ_COMMIT_SHA=$(git rev-parse HEAD)).
ARG BENCHQ_COMMIT_SHA=unknown
ENV BENCHQ_COMMIT_SHA=${BENCHQ_COMMIT_SHA}

# Not root: a worker runs model output through parsers, nothing it needs root for.
# Fixed ids (10001:10001), which docker-compose.yml names as the services' user.
RUN groupadd --system --gid 10001 benchq \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/benchq benchq \
    && mkdir /data && chown benchq:benchq /data
USER 10001:10001
# The working directory holds the default SQLite store (benchq.db) and
# benchmarks/results/; compose mounts a volume here.
WORKDIR /data
VOLUME ["/data"]

ENTRYPOINT ["benchq"]
CMD ["--help"]
