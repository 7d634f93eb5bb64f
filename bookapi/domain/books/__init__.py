"""Books (shared): schemas, stored documents, ISBNs, files, demo data, the async repository."""
