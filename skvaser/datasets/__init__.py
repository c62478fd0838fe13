"""Session data: the prefix contract, a synthetic generator, loaders and preprocessing."""

from ._loaders import encode_items, load_click_log, load_diginetica_views, load_yoochoose_clicks
from ._prefixes import prefixes_to_sessions, sessions_to_prefixes, sessions_to_queries
from ._preprocessing import (
    PreprocessingStep,
    drop_unseen_items,
    filter_sessions,
    keep_recent_fraction,
    preprocess,
    temporal_split,
)
from ._sessionize import sessionize
from ._synthetic import make_sessions

__all__ = [
    "sessions_to_prefixes",
    "sessions_to_queries",
    "prefixes_to_sessions",
    "make_sessions",
    "load_click_log",
    "load_yoochoose_clicks",
    "load_diginetica_views",
    "encode_items",
    "filter_sessions",
    "temporal_split",
    "keep_recent_fraction",
    "drop_unseen_items",
    "preprocess",
    "PreprocessingStep",
    "sessionize",
]
