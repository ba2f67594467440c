"""HTTP layer: public pages and the JSON API; handlers only parse and hand off."""
