# One image for the web app and the collectors.
# Build stage: every dependency is a binary wheel, so no compiler is needed in either stage.
FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Dependencies in their own layer: code changes do not reinstall them. Then, in the same layer,
# drop what never runs here (pip itself, test suites, C headers, Arrow's Flight and S3 libraries:
# 108 MB) and compile the bytecode once, now: a container cannot write it (root-owned files) and
# would otherwise compile every module on every start (import wsgi: 4.4 s instead of 2.4 s).
# unchecked-hash: the venv never changes after this line, so no source is even stat()ed.
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall -q -y pip setuptools \
 && cd "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && find . -depth -type d -name tests -exec rm -rf {} + \
 && rm -rf pyarrow/include pyarrow/src pyarrow/*flight* pyarrow/*s3* pyarrow/_pyarrow_cpp_tests* \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash . \
 && /opt/venv/bin/python -c "import pyarrow.parquet, pyarrow.csv, pyarrow.fs, pandas, yfinance, ib_insync, psycopg, flask, gunicorn"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 MDC_DATA_DIR=/data WEB_CONCURRENCY=2
# The official image ships its standard library without bytecode; compile it once (a no-op
# where it is compiled already; a file that does not compile only stays uncompiled).
RUN (python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" || true) \
 && useradd --create-home --uid 10001 mdc && mkdir /data && chown mdc /data
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY --chown=mdc:mdc wsgi.py gunicorn.conf.py ./
COPY --chown=mdc:mdc collector ./collector
COPY --chown=mdc:mdc webapp ./webapp
COPY --chown=mdc:mdc templates ./templates
# The French catalogue: the .po is in the repository, the web app reads the compiled .mo.
COPY --chown=mdc:mdc translations ./translations
RUN pybabel compile -d translations -l fr -i translations/fr/LC_MESSAGES/messages.po -o translations/fr/LC_MESSAGES/messages.mo
RUN python -m compileall -q /app
USER mdc
EXPOSE 8000
# The web app by default; compose runs `python -m collector run` from the same image.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "wsgi:app"]
