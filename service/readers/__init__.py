"""Readers: subscribing and consent, the front door, preferences, suppressions, and managing subscribers."""
