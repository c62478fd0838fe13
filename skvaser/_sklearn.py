"""The private scikit-learn names skvaser uses, imported here and nowhere else.

scikit-learn keeps its parameter-validation vocabulary (``Interval``, ``StrOptions``,
``validate_params``...), ``GroupsConsumerMixin``, ``_BaseComposition`` (the nested parameters
of ``VotingClassifier`` and ``Pipeline``) and ``_num_samples`` private, although
scikit-learn-compatible libraries build on them (imbalanced-learn does, through
``sklearn-compat``). ``sklearn-compat`` offers none of these names, so they are re-exported from
this one module: a scikit-learn release that moves one breaks this file alone, and the other
modules import from here.
"""

from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _num_samples

__all__ = [
    "GroupsConsumerMixin",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "validate_parameter_constraints",
    "validate_params",
    "_BaseComposition",
    "_num_samples",
]
