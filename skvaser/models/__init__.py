"""The scikit-learn estimators built on the PyTorch networks of :mod:`skvaser.nn`."""

from .gru4rec import GRU4RecRecommender
from .narm import NARMRecommender
from .relavar import ReLaVaRRecommender
from .stamp import STAMPRecommender
from .vaser import VASERRecommender

__all__ = [
    "NARMRecommender",
    "VASERRecommender",
    "GRU4RecRecommender",
    "STAMPRecommender",
    "ReLaVaRRecommender",
]
