"""Command-line tools (`python -m bookapi.cli ...`): accounts, import-books, demo-books."""
