"""RSS and Atom feeds: fetched from the public internet only, parsed, their entries taken in as items of stories."""
