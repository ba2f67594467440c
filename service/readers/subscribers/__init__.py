"""Subscriber management: bulk CSV import and its background jobs, search, detail, admin actions, export."""
