"""What ends a token before it expires, as every API process hears of it: one token (a
logout) or every token an account was issued before its current generation (a password
change, a reset, a demotion, a disablement). Pure functions of the claims; revocation.py
stores and announces endings, services/open_sockets.py applies them to open websockets."""

from __future__ import annotations

import json
from typing import Any

Ending = dict[str, Any]


def claimed_generation(claims: dict[str, Any]) -> int:
    """The token generation a token was issued in (0 for tokens from before generations)."""
    extra = claims.get("user_claims")
    generation = extra.get("gen", 0) if isinstance(extra, dict) else 0
    return generation if isinstance(generation, int) else 0


def token_ending(claims: dict[str, Any]) -> Ending:
    return {"user": str(claims["sub"]), "jti": claims["jti"]}


def generation_ending(user_id: str, generation: int) -> Ending:
    return {"user": user_id, "generation": generation}


def parse_ending(raw: str) -> Ending | None:
    """An announced ending, or None for anything malformed (ignored, never trusted)."""
    try:
        ending = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(ending, dict) or not isinstance(ending.get("user"), str):
        return None
    if isinstance(ending.get("jti"), str) or type(ending.get("generation")) is int:
        return ending
    return None


def ends(ending: Ending, claims: dict[str, Any]) -> bool:
    """Whether `ending` ends the token of `claims`."""
    if str(claims.get("sub")) != ending["user"]:
        return False
    if "jti" in ending:
        return bool(claims.get("jti") == ending["jti"])
    generation: int = ending["generation"]
    return claimed_generation(claims) < generation
