"""A small fixed-window rate limit on Django's cache, for the pages without an account: the
"ratelimit" cache, shared by every worker and server (Redis, else the database)."""

from django.core.cache import caches
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limited(key: str, *, limit: int, window: int) -> bool:
    """True once `key` has been seen more than `limit` times in the current window (seconds)."""
    cache = caches["ratelimit"]
    bucket = f"rl:{key}"
    if cache.add(bucket, 1, timeout=window):
        return False
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window)
        return False
    return count > limit
