"""The stacks a user would pick instead of bookapi, serving the same two read routes."""
