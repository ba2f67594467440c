"""Admin accounts, sessions, API tokens and the audit log: who may run the newsletter, and what they did."""
