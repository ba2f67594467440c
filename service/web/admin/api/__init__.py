"""The JSON admin API under /api/admin: the same operations as the UI, for scripts and the CLI's remote use."""
