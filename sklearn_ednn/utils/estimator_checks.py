"""Which of scikit-learn's estimator checks an EDNN cannot pass, and why.

An EDNN predicts grids of any size that is a multiple of its focus: that is its
purpose. The scikit-learn checks listed here assume the opposite (a fixed number
of features, enforced at predict time), so they are expected to fail. Everything
else in :func:`sklearn.utils.estimator_checks.parametrize_with_checks` passes.
"""

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "EXPECTED_FAILED_TRANSFORMER_CHECKS",
    "expected_failed_checks",
]

#: Check name -> reason it cannot hold for an EDNN.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in_after_fitting": (
        "An EDNN predicts grids of any size that is a multiple of f, so a "
        "different number of features at predict time is valid input, not an "
        "error."
    ),
}

#: Further expected failures of transformers such as TileTransformer.
EXPECTED_FAILED_TRANSFORMER_CHECKS = {
    "check_transformer_general": (
        "Among other things it requires transform to reject a different number "
        "of features; tiling accepts grids of any size that is a multiple of f."
    ),
}


def expected_failed_checks(estimator):
    """List the scikit-learn checks that ``estimator`` fails by design, with reasons.

    Pass this function as ``expected_failed_checks`` to
    :func:`sklearn.utils.estimator_checks.parametrize_with_checks` or
    :func:`sklearn.utils.estimator_checks.check_estimator`.

    Parameters
    ----------
    estimator : EDNNRegressor or TileTransformer
        The estimator under test.

    Returns
    -------
    expected : dict of str to str
        Check name to the reason it cannot hold for an EDNN.

    Examples
    --------
    >>> from sklearn_ednn import EDNNRegressor
    >>> from sklearn_ednn.utils.estimator_checks import expected_failed_checks
    >>> sorted(expected_failed_checks(EDNNRegressor()))
    ['check_n_features_in_after_fitting']
    """
    expected = dict(EXPECTED_FAILED_CHECKS)
    if hasattr(estimator, "transform"):
        expected.update(EXPECTED_FAILED_TRANSFORMER_CHECKS)
    return expected
