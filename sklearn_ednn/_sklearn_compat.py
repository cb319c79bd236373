"""The one place where private scikit-learn names are imported.

If a scikit-learn release moves one of them, only this module changes.
"""

from sklearn.base import _fit_context
from sklearn.utils.validation import _check_feature_names, _get_feature_names

__all__ = ["_fit_context", "_check_feature_names", "_get_feature_names"]
