"""Mailing lists: creating, editing and retiring a list, its slug, language and send settings."""
