"""Mail on the wire: safe address headers, DKIM, SMTP, signed links, the MIME message, the development sink."""
