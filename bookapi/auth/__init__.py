"""Accounts and tokens (API process): users, passwords, JWTs, revocation, guard, rate limits."""
