"""The one place where private scikit-learn names are imported.

If a scikit-learn release moves one of them, only this module changes.
"""

from sklearn.base import _fit_context
from sklearn.linear_model._base import LinearModel
from sklearn.linear_model._stochastic_gradient import BaseSGDRegressor
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    _get_feature_names,
)

__all__ = [
    "BaseSGDRegressor",
    "Interval",
    "LinearModel",
    "StrOptions",
    "_check_feature_names",
    "_check_sample_weight",
    "_fit_context",
    "_get_feature_names",
]
