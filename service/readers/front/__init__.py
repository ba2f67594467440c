"""The reader's front door: the landing page's content, the subscribe form's checks, check-your-inbox, first edition."""
