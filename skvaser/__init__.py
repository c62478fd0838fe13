"""skvaser: session-based recommendation with a scikit-learn API."""

from .datasets import sessions_to_prefixes
from .ensemble import VotingRecommender
from .metrics import SCORERS, make_mrr_scorer, make_recall_scorer, mrr_at_k, recall_at_k
from .model_selection import SessionSplitter
from .models import (
    GRU4RecRecommender,
    NARMRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    VASERRecommender,
)
from .neighbors import ItemKNNRecommender, SessionKNNRecommender

__version__ = "0.1.0"

__all__ = [
    "VASERRecommender",
    "NARMRecommender",
    "ItemKNNRecommender",
    "SessionKNNRecommender",
    "GRU4RecRecommender",
    "STAMPRecommender",
    "ReLaVaRRecommender",
    "VotingRecommender",
    "SessionSplitter",
    "sessions_to_prefixes",
    "recall_at_k",
    "mrr_at_k",
    "make_recall_scorer",
    "make_mrr_scorer",
    "SCORERS",
]
