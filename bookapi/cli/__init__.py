"""Command-line tools (`quart --app bookapi.app ...`): create-admin, import-books, demo-books."""
