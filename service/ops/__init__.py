"""Running the service: startup checks, migrations, monitoring, `make run` and its console, the demo content."""
