"""Logging and metrics, shared by the API and worker processes."""
