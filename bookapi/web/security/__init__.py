"""Tokens and abuse limits (API process): keys, issuing, the guard, revocation, limits."""
