"""Storage (shared): the MongoDB and Redis modules, every Redis name, and the server's quirks."""
