"""Readers: subscribing and consent, the front door, preferences, the emails a reader is owed, managing subscribers."""
