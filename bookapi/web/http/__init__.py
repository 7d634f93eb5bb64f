"""HTTP adapters (API process): problems, bodies, query strings, headers, ids, request log."""
