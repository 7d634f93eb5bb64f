"""Pages that are not the JSON API (API process): the console, the docs, the metrics."""
