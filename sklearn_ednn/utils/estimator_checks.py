"""Which of scikit-learn's estimator checks an EDNN cannot pass, and why.

An EDNN predicts grids of any size that is a multiple of its focus: that is its
purpose. The scikit-learn checks listed here assume the opposite (a fixed number
of features, enforced at predict time), so they are expected to fail, and so is
the exact equivalence of sample weights and repeated samples for a network
trained in random mini-batches and for boosted trees. Everything else in
:func:`sklearn.utils.estimator_checks.parametrize_with_checks` passes.
"""

from .._estimator import _resolve_solver

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "EXPECTED_FAILED_SOLVER_CHECKS",
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

#: Further expected failures of EDNNs by solver (see ``EDNNRegressor.solver``).
EXPECTED_FAILED_SOLVER_CHECKS = {
    "torch": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Stochastic mini-batch training: a grid of weight k counts as k "
            "copies of it in expectation over the batches, not batch by batch, "
            "so the two fits differ as two seeds do (as for scikit-learn's "
            "MLPRegressor)."
        ),
    },
    "boosting": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The weighted and the repeated fits agree on every grid of positive "
            "weight, but not on the left-out grids of weight zero: the summed "
            "loss gives all tiles of a grid one target, so a tree has many "
            "equally good splits and rounding picks one. The linear solver "
            "passes."
        ),
    },
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
        The estimator under test; an EDNN has the further expected failures
        of its solver in ``EXPECTED_FAILED_SOLVER_CHECKS``.

    Returns
    -------
    expected : dict of str to str
        Check name to the reason it cannot hold for an EDNN.

    Examples
    --------
    >>> from sklearn_ednn import EDNNRegressor
    >>> from sklearn_ednn.utils.estimator_checks import expected_failed_checks
    >>> from sklearn.linear_model import Ridge
    >>> sorted(expected_failed_checks(EDNNRegressor(Ridge())))
    ['check_n_features_in_after_fitting']
    >>> for name in sorted(expected_failed_checks(EDNNRegressor())):
    ...     print(name)
    check_n_features_in_after_fitting
    check_sample_weight_equivalence_on_dense_data
    """
    expected = dict(EXPECTED_FAILED_CHECKS)
    if hasattr(estimator, "transform"):
        expected.update(EXPECTED_FAILED_TRANSFORMER_CHECKS)
    else:
        solver = _resolve_solver(estimator.estimator, estimator.solver)
        expected.update(EXPECTED_FAILED_SOLVER_CHECKS.get(solver, {}))
    return expected
