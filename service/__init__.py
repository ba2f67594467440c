"""Daily World News email newsletter service."""
