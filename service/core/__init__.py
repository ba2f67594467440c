"""The base every concept stands on: sessions, domain errors, signed tokens, rate limits, addresses, logs, Celery."""
