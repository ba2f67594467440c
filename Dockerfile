# One image for web, worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/var \
    HOST=0.0.0.0

RUN useradd --create-home --uid 10001 --user-group app

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Editable install: settings find templates/ next to the service package, i.e. /app/templates.
COPY . .
RUN pip install --no-deps -e . \
    && pybabel -q compile --domain messages --directory service/i18n/locale \
    && mkdir -p /app/var \
    && chown app:app /app/var

USER app

EXPOSE 8000
CMD ["newsletter", "web"]
