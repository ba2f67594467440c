"""Branding: the site's and each list's name, about text, logo, accent colour and sender name, for pages and emails."""
