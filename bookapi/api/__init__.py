"""HTTP plumbing of the API process: problems, body limits, ids, uploads, job submit, events."""
