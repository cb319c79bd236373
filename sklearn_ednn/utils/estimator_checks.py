"""Which of scikit-learn's estimator checks an EDNN cannot pass, and why.

An EDNN predicts grids of any size that is a multiple of its focus: that is its
purpose. The scikit-learn checks listed here assume the opposite (a fixed number
of features, enforced at predict time), so they are expected to fail, and so is
the exact equivalence of sample weights and repeated samples for a network
trained in random mini-batches and for boosted trees, and, for a torch tile
network predicting in float32 (the default ``inference_dtype``), the invariance of
a prediction to the other grids scored beside it to 1e-7. Everything else in
:func:`sklearn.utils.estimator_checks.parametrize_with_checks` passes.
"""

from .._estimator import _resolve_solver

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "EXPECTED_FAILED_FLOAT32_CHECKS",
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

#: Further expected failures of a torch tile network predicting in float32.
EXPECTED_FAILED_FLOAT32_CHECKS = {
    "check_methods_subset_invariance": (
        "In float32 a grid's prediction can change by about 1e-7 of its size "
        "with the other grids scored in the same batch (the matrix products "
        "add in another order), and the check asks for 1e-7. "
        "inference_dtype='float64' passes it."
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
        The estimator under test; an EDNN has the further expected failures
        of its solver in ``EXPECTED_FAILED_SOLVER_CHECKS``, and a torch one
        predicting in float32 those in ``EXPECTED_FAILED_FLOAT32_CHECKS``.

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
    check_methods_subset_invariance
    check_n_features_in_after_fitting
    check_sample_weight_equivalence_on_dense_data
    >>> "check_methods_subset_invariance" in expected_failed_checks(
    ...     EDNNRegressor(inference_dtype="float64")
    ... )
    False
    """
    expected = dict(EXPECTED_FAILED_CHECKS)
    if hasattr(estimator, "transform"):
        expected.update(EXPECTED_FAILED_TRANSFORMER_CHECKS)
    else:
        solver = _resolve_solver(estimator.estimator, estimator.solver)
        expected.update(EXPECTED_FAILED_SOLVER_CHECKS.get(solver, {}))
        if solver == "torch" and estimator.inference_dtype == "float32":
            expected.update(EXPECTED_FAILED_FLOAT32_CHECKS)
    return expected
