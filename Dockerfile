FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=0 PORT=8000
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core gettext nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN npm ci --no-audit --no-fund --loglevel=error \
 && pip install --no-cache-dir . \
 && SECRET_KEY=build-only python manage.py collectstatic --no-input --verbosity 0
RUN useradd --create-home ciclo && mkdir -p /app/var && chown -R ciclo /app/var
USER ciclo
EXPOSE 8000
CMD ["sh", "-c", "gunicorn config.wsgi --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-4} --access-logfile -"]
