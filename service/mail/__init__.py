"""Mail on the wire: the MIME message, DKIM, SMTP, signed links, the do-not-mail list, the development sink."""
