"""Monitoring: queues, workers, beat, ledger figures and health checks, as metrics, JSON and a CLI view."""
