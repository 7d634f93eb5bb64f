"""Accounts (shared): users, passwords and the account schemas."""
