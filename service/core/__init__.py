"""The base every concept stands on: settings, sessions, errors, tokens, rate limits, address and field rules, logs."""
