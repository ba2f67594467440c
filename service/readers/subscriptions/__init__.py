"""The subscriber's journey as rules (no HTTP, no Celery): fields, consent, lookups, joining, preferences."""
