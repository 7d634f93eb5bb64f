"""The OpenAPI document (API process): the problem schema and what quart-schema cannot generate."""
