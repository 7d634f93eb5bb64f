"""The book domain shared by API and worker: schemas, ISBNs, document rules, files, repository."""
