"""The scikit-learn estimators built on the PyTorch networks of :mod:`skvaser.nn`."""

from .narm import NARMRecommender
from .vaser import VASERRecommender

__all__ = ["NARMRecommender", "VASERRecommender"]
