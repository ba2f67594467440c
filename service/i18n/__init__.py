"""Every list in its own language: gettext catalogs (Babel), date and number formats, text direction."""
