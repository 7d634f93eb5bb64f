"""The job domain shared by API and worker: job records, kinds, events channel, repository."""
