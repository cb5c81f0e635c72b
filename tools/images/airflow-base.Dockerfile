# syntax=docker/dockerfile:1
# A stand-in for the official apache/airflow image where no registry serves it (make images-local): Brook's Debian
# base (PYTHON_IMAGE, tools/images/base-image.sh) + Airflow from images/airflow/requirements.lock (wheels only,
# hash-checked), laid out as images/airflow/Dockerfile expects of its base: `python`/`pip`/`airflow` on PATH, user
# airflow 50000 in group 0, AIRFLOW_HOME=/opt/airflow. Tagged <name>:<AIRFLOW_VERSION>-python<PYTHON_MINOR>, it is
# images/airflow/Dockerfile's AIRFLOW_IMAGE. Unlike the official image it has no entrypoint script (the Airflow chart's
# containers give their full command in args) and none of the official image's extra providers or system packages.
# Build context: the repository root.
ARG PYTHON_IMAGE

# One stage, no COPY --from: pip's .pyc files keep the mtimes of the sources they were compiled from.
FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY images/airflow/requirements.lock /tmp/requirements.lock
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow \
    && python -m venv /home/airflow/.venv \
    && /home/airflow/.venv/bin/pip install --no-deps --only-binary=:all: --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && mkdir -p /opt/airflow/dags /opt/airflow/logs \
    && chown -R 50000:0 /opt/airflow /home/airflow
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW_USER_HOME_DIR=/home/airflow \
    PATH=/home/airflow/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1
WORKDIR /opt/airflow
USER 50000:0
CMD ["airflow", "version"]
