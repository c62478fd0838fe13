"""Session data: the prefix contract, a synthetic generator, loaders and preprocessing."""

from ._prefixes import prefixes_to_sessions, sessions_to_prefixes

__all__ = ["sessions_to_prefixes", "prefixes_to_sessions"]
