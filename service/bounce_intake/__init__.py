"""Taking in bounce and complaint reports (IMAP, the MTA pipe, HTTP): above delivery and readers, which it acts on."""
