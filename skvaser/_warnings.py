"""Warnings about a user's call, said at the user's line."""

import sys
import warnings

__all__ = ["warn_at_caller"]

#: Packages whose frames stand between a user's call and the code that warns: skvaser itself,
#: scikit-learn (parameter validation, model selection), joblib, and torch (``no_grad``).
_PACKAGES_BEHIND_THE_CALLER = ("skvaser", "sklearn", "joblib", "torch")


def warn_at_caller(message, category=UserWarning):
    """Warn at the first frame outside :data:`_PACKAGES_BEHIND_THE_CALLER`: the user's line.

    ``message`` is a string or a :class:`Warning` instance (whose class is then the category).
    """
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and (
        frame.f_globals.get("__name__", "").split(".")[0] in _PACKAGES_BEHIND_THE_CALLER
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
