"""Cache keys that a write can invalidate, even with one entry per page or query.

Every key of a group starts with the group's generation, a random token kept in the cache
itself. A write gives the group a new generation: entries made before it are never read again
and expire on their own. With Redis, every worker sees the new generation at once.
"""

from uuid import uuid4

from flask import request

from app.extensions import cache

# Longer than any entry lives. Not 0 ("never expires"): a full SimpleCache evicts the entries that
# expire soonest first, and to it 0 sorts first, so every store would start a new generation.
GENERATION_TIMEOUT = 24 * 60 * 60


def invalidate(group: str) -> str:
    """Start a new generation of the group's keys; return its token."""
    token = uuid4().hex
    cache.set(f"{group}:generation", token, timeout=GENERATION_TIMEOUT)
    return token


def key_prefix(group: str):
    """For @cache.cached(key_prefix=...): the group, its current generation and the path."""

    def prefix() -> str:
        generation = cache.get(f"{group}:generation") or invalidate(group)
        return f"{group}:{generation}:{request.path}"

    return prefix


def user_key(user_id: int) -> str:
    """One entry per user, so that one user's data is never served to another."""
    return f"users:me:{user_id}"
