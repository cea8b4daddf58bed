# One image for the web app and the collectors.
# Build stage: every dependency is a binary wheel, so no compiler is needed in either stage.
FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Dependencies in their own layer: code changes do not reinstall them.
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MDC_DATA_DIR=/data WEB_CONCURRENCY=2
RUN useradd --create-home --uid 10001 mdc && mkdir /data && chown mdc /data
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY --chown=mdc:mdc wsgi.py gunicorn.conf.py ./
COPY --chown=mdc:mdc collector ./collector
COPY --chown=mdc:mdc webapp ./webapp
COPY --chown=mdc:mdc templates ./templates
USER mdc
EXPOSE 8000
# The web app by default; compose runs `python -m collector run` from the same image.
CMD ["sh", "-c", "exec gunicorn --workers ${WEB_CONCURRENCY} --bind 0.0.0.0:8000 --access-logfile - wsgi:app"]
