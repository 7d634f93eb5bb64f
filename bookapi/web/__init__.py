"""The API process only: app factory, routes, HTTP adapters, OpenAPI, security, services."""
