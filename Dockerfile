# pollsvc: one image, configured by POLLSVC_* environment variables (see README.md).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pollsvc ./pollsvc
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    POLLSVC_INSTANCE_PATH=/var/lib/pollsvc
RUN useradd --system --create-home --home-dir /var/lib/pollsvc --uid 10001 pollsvc
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER pollsvc
WORKDIR /var/lib/pollsvc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# `serve` applies pending migrations (under a lock, so replicas may start together), then serves
# with Granian: 2 workers when POLLSVC_REDIS_URL is set (limits shared through Redis), else 1.
# It stops gracefully on SIGTERM (in-flight requests finish, up to 10 s).
STOPSIGNAL SIGTERM
CMD ["pollsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
