"""EDNNRegressor: an extensive regressor summing a shared tile model over a grid."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_X_y

from ._classical import (
    SklearnTileScorer,
    fit_boosting,
    fit_linear,
    flat_tiles,
    is_linear_in_parameters,
)
from ._fitted_tiling import FittedTiling
from ._forces import ForceEDNNModule, ForceMatchingLoss, check_force_targets
from ._pickling import fill_missing_parameters
from ._sample_weight import SampleWeightedLoss, check_sample_weight
from ._sklearn_compat import (
    Interval,
    StrOptions,
    _check_feature_names,
    _fit_context,
    _get_feature_names,
)
from ._tiling import tiling_shifts
from ._torch_backend import (
    EDNNModule,
    TorchTileScorer,
    build_ednn_net,
    continue_training,
    fixed_seed,
    is_skorch_net,
    is_torch_module,
    make_tile_net,
)
from ._validation import (
    check_grid_shape,
    check_per_axis,
    spatial_ndim,
)

__all__ = ["EDNNRegressor"]


def _resolve_solver(estimator, solver):
    """The solver that trains ``estimator``: "torch", "linear" or "boosting"."""
    if estimator is None or is_torch_module(estimator) or is_skorch_net(estimator):
        if solver not in ("auto", "torch"):
            raise ValueError(
                f"solver={solver!r} needs a scikit-learn regressor as estimator; "
                f"a torch tile model is trained with solver='torch'."
            )
        return "torch"
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise TypeError(
            f"estimator={estimator!r} is not supported: pass None, a torch.nn.Module "
            "class or instance, a configured skorch.NeuralNetRegressor, or a "
            "scikit-learn regressor."
        )
    linear = is_linear_in_parameters(estimator)
    if solver == "auto":
        return "linear" if linear else "boosting"
    if solver == "torch" or (solver == "linear" and not linear):
        raise ValueError(
            f"solver={solver!r} cannot train {type(estimator).__name__}: 'linear' "
            "needs a model linear in its parameters (alone or ending a pipeline), "
            "'torch' a torch tile model; use 'boosting' or 'auto'."
        )
    return solver


def _torch_net(estimator):
    """The skorch net that trains a torch tile model ``estimator``."""
    if estimator is None:
        return make_tile_net()
    if is_torch_module(estimator):
        return make_tile_net(module=estimator)
    return estimator


class EDNNRegressor(RegressorMixin, BaseEstimator):
    """Extensive deep neural network: one shared model scores tiles, then a sum.

    Every grid is cut into focus regions of size ``f`` with a context border
    of width ``c`` (see :class:`TileTransformer`); one shared tile model maps
    every tile to a contribution, and the prediction is the sum of the
    contributions. The loss is computed on the sum, as in Mills et al. (2019),
    so the model learns how to split an extensive target (energy, magnetisation,
    a count) over the tiles, and a model fitted on small grids predicts grids of
    any size that is a multiple of ``f``.

    Parameters
    ----------
    estimator : None, torch.nn.Module class or instance, skorch.NeuralNetRegressor \
or regressor, default=None
        The tile model. None uses :func:`make_tile_net`, the paper's fully
        connected :class:`TileMLP` trained by skorch. A torch module (class or
        instance) maps a batch of tiles ``(n_tiles, n_channels, w1, ..., wd)`` to
        ``(n_tiles, n_outputs)`` and is trained with :func:`make_tile_net`'s
        defaults. A configured skorch ``NeuralNetRegressor`` is cloned and its
        settings (optimizer, lr, max_epochs, batch_size, callbacks,
        train_split, device, ...) are honoured. Any other scikit-learn
        regressor sees each tile as one row of ``n_channels * prod(f + 2c)``
        features, in ``(channel, w1, ..., wd)`` order; see ``solver``. Nested
        parameters are tunable as ``estimator__<name>``.
    f : int or tuple of int, default=1
        Focus size per spatial axis (an int applies to every axis). Every grid
        axis must be a multiple of it.
    c : int or tuple of int, default=1
        Context width per spatial axis; 0 is allowed.
    padding : {"wrap", "zeros"}, default="wrap"
        Boundary of the grids: periodic (the paper's) or zeros.
    channels : bool, default=False
        Whether the last axis of ``X`` holds channels. If False, every axis of
        ``X`` after the first is spatial, so a 2-D ``X`` is a batch of 1-D grids.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (weights, shuffling) inside :meth:`fit`, without changing
        the global torch generator afterwards. Pass an int for reproducible fits.
    n_jobs : int, default=None
        Number of jobs to run in parallel for prediction. ``None`` means 1
        unless in a :obj:`joblib.parallel_backend` context. ``-1`` means using
        all processors. Each job scores a run of samples, or a band of one large
        grid, with its share of the CPU threads.
    tile_batch_size : int, default=4096
        Largest number of tiles scored in one call of the tile model at predict
        time; bounds memory however large the grids are.
    inference_dtype : {"float64", "float32"}, default="float64"
        Precision of a torch tile model at predict time (training is in
        float32). float64 makes every tile's contribution independent of how
        tiles are batched, to round-off, at little cost for small tile
        networks; float32 is faster for large convolutional networks and on
        GPUs. Classical models always predict in float64.
    solver : {"auto", "torch", "linear", "boosting"}, default="auto"
        How the tile model is trained; every solver minimises the squared error
        of the sum. "torch": skorch trains a torch tile model (the only choice
        for torch estimators). "linear": a model linear in its parameters (a
        linear model, or a pipeline of unsupervised feature maps ending in one)
        is fitted exactly on the per-sample sums of the tile features, with an
        extensive intercept. "boosting": any regressor is trained by functional
        gradient descent on the summed loss (see ``n_rounds``). "auto" picks
        "linear" when it applies, else "boosting", for scikit-learn regressors.
    n_rounds : int, default=50
        Boosting rounds after the first fit of ``y / n_tiles`` (boosting only).
    learning_rate : float, default=0.5
        Shrinkage of every boosting round's line-search step (boosting only).
    validation_fraction : float or None, default=None
        Fraction of samples held out to choose the number of boosting rounds
        with the smallest validation error; None uses all samples and rounds
        (boosting only).
    n_iter_no_change : int or None, default=None
        Stop boosting when the validation error has not improved for this many
        rounds; needs ``validation_fraction`` (boosting only).
    verbose : int, default=0
        If positive, the boosting solver prints its errors every round. A torch
        tile model reports through the skorch net's own ``verbose``.
    offset : {"mean", "channel_totals"}, default="mean"
        What every tile adds to the torch tile network's scaled output (torch
        solver only; the other solvers fit their own offsets). "mean": the
        mean target per tile. "channel_totals": an intercept plus a linear
        function of the totals of each channel over the tile's focus region,
        fitted by least squares to the training targets before training, so
        that the network learns only what that linear model leaves. On atom
        images with one channel per element the channel totals count the
        atoms of each element, and the offset is a reference energy per atom
        of each element; the network then learns the energy of their
        arrangement. The offset is extensive: summed over the tiles of a grid
        it is the same function of the grid's channel totals.
    average_shifts : int or tuple of int, default=1
        Number of tilings per spatial axis (an int applies to every axis)
        whose predictions are averaged: the tile grid is moved by multiples of
        ``f / average_shifts`` pixels, so ``k`` per axis costs ``k**d`` times
        the inference of one tiling. An EDNN is invariant to translations by
        whole focus regions only; averaging over the tilings makes it
        invariant to translations by ``f / k`` pixels, and evens out errors
        that depend on where the tile boundaries fall. Each must divide
        ``f``; periodic padding only. 1 (the paper's): one tiling. Used by
        :meth:`predict`, :meth:`predict_contributions` and ``score``; training
        is unchanged.
    force_weight : float, default=3.0
        Weight of the forces in the loss when :meth:`fit` is given ``forces``
        (torch solver only), in Angstrom squared: the loss is the mean squared
        error of the energies plus ``force_weight`` times the mean squared
        error of the force components, so an error of 1 eV/Angstrom in one
        component costs as much as one of ``sqrt(force_weight)`` eV in a
        structure's energy. On the B/C/N sheets of the benchmarks 3 improved
        both energies and forces over an energy-only fit, and 30 the forces
        more at some cost to the energies. Ignored without ``forces``.
    warm_start : bool, default=False
        When True and the model was already fitted with the torch solver,
        :meth:`fit` continues training the fitted network for the net's
        ``max_epochs`` more epochs instead of starting from new weights: on
        more epochs, on new data (active learning), or with ``forces`` after
        an energy-only fit. The fitted offsets and target scale are kept, so
        the network's outputs keep their meaning; the optimizer starts afresh
        (a new learning-rate schedule, as scikit-learn's ``MLPRegressor``
        restarts its solver), and the net's history goes on from the fitted
        one's; lower the net's ``lr`` to fine-tune a converged network. The
        grids must have the fitted model's focus, context, padding, channels
        and outputs. The other solvers always fit anew.

    Attributes
    ----------
    estimator_ : skorch.NeuralNetRegressor or estimator
        With the torch solver, the fitted skorch network; its ``module_`` is an
        :class:`EDNNModule` around the tile network ``module_.tile_module``.
        Otherwise the fitted per-tile model, whose ``predict`` on flattened
        tiles gives each tile's contribution.
    solver_ : str
        The solver used: "torch", "linear" or "boosting".
    boosting_history_ : list of dict
        Training (and validation) mean squared error of the sum after every
        boosting round. Only with the boosting solver.
    n_features_in_ : int
        Length of the first axis of the training grids (``X.shape[1]``).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
    grid_shape_ : tuple of int
        Spatial shape of the training grids.
    n_spatial_dims_ : int
        Number of spatial axes; grids at predict time must have as many.
    n_channels_ : int
        Number of channels per grid position (1 when ``channels=False``).
    n_outputs_ : int
        Number of extensive targets.
    focus_ : tuple of int
        Focus size per spatial axis.
    context_ : tuple of int
        Context width per spatial axis.
    tile_offset_ : ndarray of shape (n_outputs_,)
        Constant added to every tile's contribution: the mean target per tile
        for the torch solver (the intercept with ``offset="channel_totals"``),
        0 for the others (their models fit it).
    channel_offset_ : ndarray of shape (n_channels_, n_outputs_)
        Added to a tile's contribution per unit of each channel's total over
        its focus region: the least-squares weights with
        ``offset="channel_totals"``, zeros otherwise. A channel offset is
        part of the tile network's output (a fixed buffer of its
        :class:`EDNNModule`, in scaled units), so every scoring of tiles
        includes it.
    tile_scale_ : ndarray of shape (n_outputs_,)
        Factor applied to the tile model's output: the standard deviation of
        the target per tile for the torch solver, 1 for the others.
    tiling_ : FittedTiling
        The fitted tiling that prediction, Monte Carlo, the ASE calculator
        and the inspection tools use: focus, context, padding, the averaged
        tilings, the tile scorer and the map from raw tile scores to targets.

    See Also
    --------
    TileTransformer : The tiling, as a transformer.
    make_tile_net : The default skorch network, to configure.
    TileCNN : The paper's convolutional tile network.
    effective_couplings : Read a fitted linear EDNN as pair couplings.

    Notes
    -----
    For a grid ``x`` with tiles ``x_t`` (:class:`TileTransformer`) the model is

    .. math:: \\hat y(x) = \\sum_t \\left(s\\, g(x_t) + m + w^\\top n_t\\right),

    with ``g`` the tile model, ``s = tile_scale_``, ``m = tile_offset_``,
    ``w = channel_offset_`` and ``n_t`` the channel totals of the focus region
    of tile ``t``. The network is trained on the scaled target
    ``(y - n_tiles m - w^T n) / s``, with ``n`` the grid's channel totals, and
    the mean squared error of the sum, so training is well conditioned and the
    fitted model stays exactly extensive: a periodic grid repeated ``k`` times
    along each of ``d`` axes predicts ``k**d`` times as much.

    Because the tile model sees only tiles, the regressor is translation
    invariant by construction, cannot depend on absolute positions, and
    accepts grids of other sizes at predict time. scikit-learn checks that
    assume a fixed number of features are listed in
    :func:`sklearn_ednn.utils.estimator_checks.expected_failed_checks`.

    References
    ----------
    .. [1] K. Mills, K. Ryczko, I. Luchak, A. Domurad, C. Beeler and I. Tamblyn,
       "Extensive deep neural networks for transferring small scale learning to
       large scale systems", Chem. Sci. 10, 4129 (2019).

    Examples
    --------
    >>> from sklearn_ednn import EDNNRegressor, make_tile_net
    >>> from sklearn_ednn.datasets import make_ising
    >>> X, y = make_ising(200, size=4, random_state=0)
    >>> model = EDNNRegressor(make_tile_net(max_epochs=5), f=1, c=1, random_state=0)
    >>> model.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> model.predict_contributions(X[:2]).shape
    (2, 4, 4)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "f": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "c": [Interval(Integral, 0, None, closed="left"), tuple, list],
        "padding": [StrOptions({"wrap", "zeros"})],
        "channels": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "tile_batch_size": [Interval(Integral, 1, None, closed="left")],
        "inference_dtype": [StrOptions({"float64", "float32"})],
        "solver": [StrOptions({"auto", "torch", "linear", "boosting"})],
        "n_rounds": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
        "offset": [StrOptions({"mean", "channel_totals"})],
        "average_shifts": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "force_weight": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        f=1,
        c=1,
        padding="wrap",
        channels=False,
        random_state=None,
        n_jobs=None,
        tile_batch_size=4096,
        inference_dtype="float64",
        solver="auto",
        n_rounds=50,
        learning_rate=0.5,
        validation_fraction=None,
        n_iter_no_change=None,
        verbose=0,
        offset="mean",
        average_shifts=1,
        force_weight=3.0,
        warm_start=False,
    ):
        self.estimator = estimator
        self.f = f
        self.c = c
        self.padding = padding
        self.channels = channels
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.tile_batch_size = tile_batch_size
        self.inference_dtype = inference_dtype
        self.solver = solver
        self.n_rounds = n_rounds
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose
        self.offset = offset
        self.average_shifts = average_shifts
        self.force_weight = force_weight
        self.warm_start = warm_start

    def __setstate__(self, state):
        super().__setstate__(fill_missing_parameters(type(self), state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # Translation invariance by construction: a target tied to one position
        # of the grid (as in scikit-learn's generic regression checks) cannot
        # be learned.
        tags.regressor_tags.poor_score = True
        return tags

    def _layout(self, X):
        """Spatial axes, focus and context for ``X``; checks grid sizes."""
        n_spatial = spatial_ndim(X.ndim, self.channels)
        focus = check_per_axis(self.f, "f", n_spatial, minimum=1)
        context = check_per_axis(self.c, "c", n_spatial, minimum=0)
        check_grid_shape(X.shape[1 : 1 + n_spatial], focus)
        # A bad average_shifts fails before training.
        tiling_shifts(focus, self.average_shifts, self.padding)
        return n_spatial, focus, context

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, forces=None):
        """Fit the tile model so that its summed contributions match ``y``.

        A failed fit (bad input, an error while training) leaves a previously
        fitted model unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Training grids, all of one shape; every ``Li`` a multiple of ``f``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Extensive targets, each the sum of its own tile contributions.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each training grid in the squared error of the sums
            (finite, non-negative, not all zero; only their ratios matter).
            The torch solver weighs each grid's loss (and its forces') in
            every batch, and the offsets and the output layer's refit alike;
            a validation split's loss (skorch's ``valid_loss``) is unweighted.
            The ``"linear"`` solver passes them to the linear model's ``fit``
            (the feature map of a pipeline is fitted on the tiles unweighted),
            ``"boosting"`` to every round's ``fit``, each tile getting its
            grid's weight; those models must accept ``sample_weight``.
        forces : ndarray of shape (n_samples, max_atoms), default=None
            Force targets of atom images, from
            :meth:`AtomImage.force_targets
            <sklearn_ednn.atoms.AtomImage.force_targets>` on the structures
            that ``X`` draws: the network then also fits the forces
            ``-dy/dR`` of its energy, weighted by ``force_weight`` (torch
            solver, one target; the loss is then the one that
            ``force_weight`` describes, whatever the net's ``criterion``).
            The tile network must be twice
            differentiable (SiLU, not ReLU, for useful force gradients), and
            training costs 2-3 times as much per epoch. With forces the
            fitted network's ``module_`` is a ``ForceEDNNModule``, an
            :class:`EDNNModule` that predicts the same way, and
            :class:`~sklearn_ednn.callbacks.RefitOutputLayer` leaves it as
            trained.

        Returns
        -------
        self : EDNNRegressor
            The fitted estimator.
        """
        feature_names = _get_feature_names(X)
        X, y = check_X_y(X, y, allow_nd=True, multi_output=True, y_numeric=True)
        n_spatial, focus, context = self._layout(X)
        X_ch = X if self.channels else X[..., np.newaxis]
        grid_shape = X_ch.shape[1:-1]

        y_2d = y.reshape(len(y), -1).astype(np.float64)
        sample_weight = check_sample_weight(sample_weight, X)
        solver = _resolve_solver(self.estimator, self.solver)
        if solver != "torch" and self.offset != "mean":
            raise ValueError(
                f"offset={self.offset!r} applies to torch tile networks only; "
                f"the {solver!r} solver fits its model's own offset. Use "
                "offset='mean'."
            )
        history = None
        n_channels, n_outputs = X_ch.shape[-1], y_2d.shape[1]
        channel_offset = np.zeros((n_channels, n_outputs))
        if forces is not None:
            if solver != "torch":
                raise ValueError(
                    f"forces train torch tile networks only; the {solver!r} "
                    "solver fits energies alone. Fit without forces."
                )
            forces = check_force_targets(
                forces, len(X_ch), n_spatial, n_channels, n_outputs
            )
        if solver == "torch":
            fitted, offset, channel_offset, scale = self._fit_torch(
                X_ch, y_2d, focus, context, forces, sample_weight
            )
        else:
            offset, scale = np.zeros(n_outputs), np.ones(n_outputs)
            tiles = flat_tiles(X_ch, focus, context, self.padding)
            if solver == "linear":
                fitted = fit_linear(self.estimator, tiles, y, sample_weight)
            else:
                fitted, history = fit_boosting(
                    self.estimator,
                    tiles,
                    y_2d,
                    n_rounds=self.n_rounds,
                    learning_rate=self.learning_rate,
                    validation_fraction=self.validation_fraction,
                    n_iter_no_change=self.n_iter_no_change,
                    random_state=self.random_state,
                    verbose=self.verbose > 0,
                    sample_weight=sample_weight,
                )

        # Only now, with training done, replace the fitted state.
        self.estimator_ = fitted
        self.solver_ = solver
        if history is not None:
            self.boosting_history_ = history
        elif hasattr(self, "boosting_history_"):
            del self.boosting_history_
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.grid_shape_ = grid_shape
        self.n_spatial_dims_ = n_spatial
        self.n_channels_ = X_ch.shape[-1]
        self.n_outputs_ = y_2d.shape[1]
        self._y_ndim = y.ndim
        self.focus_ = focus
        self.context_ = context
        self.tile_offset_ = offset
        self.channel_offset_ = channel_offset
        self.tile_scale_ = scale
        return self

    def _fit_offsets(self, X_ch, y_2d, n_tiles, sample_weight=None):
        """The offset (see ``offset``) and its share of every training target.

        Returns the per-tile intercept, the channel weights and the offset
        summed over each grid, shape (n_samples, n_outputs); a weighted fit
        with ``sample_weight``.
        """
        n_channels = X_ch.shape[-1]
        if self.offset == "mean":
            offset = np.average(y_2d / n_tiles, axis=0, weights=sample_weight)
            return offset, np.zeros((n_channels, y_2d.shape[1])), n_tiles * offset
        totals = X_ch.sum(axis=tuple(range(1, X_ch.ndim - 1)), dtype=np.float64)
        design = np.column_stack([np.full(len(totals), float(n_tiles)), totals])
        # Columns scaled to unit norm for the solve; a constant channel (or one
        # proportional to the tile count) gets the minimum-norm share.
        norms = np.linalg.norm(design, axis=0)
        norms[norms == 0] = 1.0
        # Weighted least squares: rows scaled by the square roots of the weights.
        rows = 1.0 if sample_weight is None else np.sqrt(sample_weight)[:, None]
        coef = np.linalg.lstsq(design / norms * rows, y_2d * rows, rcond=None)[0]
        coef /= norms[:, None]
        return coef[0], coef[1:], design @ coef

    def _fit_torch(self, X_ch, y_2d, focus, context, forces=None, sample_weight=None):
        """Train the torch tile model with skorch on scaled targets.

        ``forces`` are the checked force targets (see :meth:`fit`), or None;
        ``sample_weight`` the checked weights, or None.
        """
        if sample_weight is not None:
            # Mean 1: a batch's weighted loss then estimates the weighted mean
            # over all grids, on the scale of an unweighted one.
            sample_weight = sample_weight / sample_weight.mean()
        n_tiles = math.prod(length // f for length, f in zip(X_ch.shape[1:-1], focus))
        fitted_net = self._net_to_continue(X_ch, y_2d, focus, context)
        if fitted_net is None:
            offset, channel_offset, scale = self._fit_target_transform(
                X_ch, y_2d, n_tiles, sample_weight
            )
            with_channel_offset = self.offset != "mean"
        else:
            # Kept, so that the network's outputs go on meaning what they meant.
            offset, channel_offset = self.tile_offset_, self.channel_offset_
            scale = self.tile_scale_
            with_channel_offset = fitted_net.module_.channel_offset is not None
        # The module adds the channel offset itself (in scaled units).
        target = ((y_2d - n_tiles * offset) / scale).astype(np.float32)
        net = build_ednn_net(
            _torch_net(self.estimator),
            focus=focus,
            context=context,
            padding=self.padding,
            n_channels=X_ch.shape[-1],
            n_outputs=y_2d.shape[1],
            channel_offset=channel_offset / scale if with_channel_offset else None,
            module_class=EDNNModule if forces is None else ForceEDNNModule,
        )
        # A writable float32 copy: torch cannot wrap read-only memory maps.
        X_fit = np.array(X_ch, dtype=np.float32)
        # skorch hands the keys of a dict to the module as keywords.
        extra = {}
        if sample_weight is not None:
            extra["sample_weight"] = sample_weight.astype(np.float32)
        if forces is not None:
            # Forces in the same units as the scaled energies.
            scaled = (forces["atom_force"] / scale[0]).astype(np.float32)
            extra.update(forces, atom_force=scaled)
            net.set_params(
                criterion=ForceMatchingLoss,
                criterion__force_weight=self.force_weight,
            )
        elif sample_weight is not None:
            # The net's own criterion, per grid, averaged with the weights.
            net.set_params(criterion=SampleWeightedLoss, criterion__loss=net.criterion)
        if extra:
            X_fit = {"X": X_fit, **extra}
        seed = None
        if self.random_state is not None:
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            if fitted_net is not None:
                # A continued fit draws new batches, not the first fit's again.
                seed = (seed + len(fitted_net.history_)) % np.iinfo(np.int32).max
        with fixed_seed(seed):
            if fitted_net is None:
                net.fit(X_fit, target)
            else:
                continue_training(net, fitted_net, X_fit, target)
        return net, offset, channel_offset, scale

    def _fit_target_transform(self, X_ch, y_2d, n_tiles, sample_weight=None):
        """The offsets and the scale of the network's targets (see the Notes).

        Returns the per-tile offset, the channel offset (see ``offset``) and
        the standard deviation per tile of what the offsets leave, which sets
        the network's units (1 where that is zero).
        """
        offset, channel_offset, summed = self._fit_offsets(
            X_ch, y_2d, n_tiles, sample_weight
        )
        residual = (y_2d - summed) / n_tiles
        mean = np.average(residual, axis=0, weights=sample_weight)
        spread = np.average((residual - mean) ** 2, axis=0, weights=sample_weight)
        scale = np.sqrt(spread)
        scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(offset)))] = 1.0
        return offset, channel_offset, scale

    def _net_to_continue(self, X_ch, y_2d, focus, context):
        """The fitted skorch net that a warm start continues, or None.

        None without ``warm_start`` or before the first fit. A fitted model
        that the new grids do not fit is a ValueError: a warm start that
        quietly started afresh would lose the training the user asked to
        keep.
        """
        if not self.warm_start or not hasattr(self, "estimator_"):
            return None
        if self.solver_ != "torch":
            raise ValueError(
                f"warm_start=True continues a fitted torch tile network, but this "
                f"model was fitted with the {self.solver_!r} solver. Set "
                "warm_start=False to fit anew."
            )
        fitted_module = self.estimator_.module_
        fitted = {
            "f": (tuple(self.focus_), tuple(focus)),
            "c": (tuple(self.context_), tuple(context)),
            "padding": (fitted_module.padding, self.padding),
            "n_channels": (self.n_channels_, X_ch.shape[-1]),
            "n_outputs": (self.n_outputs_, y_2d.shape[1]),
        }
        changed = [
            f"{name}={old!r} when fitted, now {new!r}"
            for name, (old, new) in fitted.items()
            if old != new
        ]
        if changed:
            raise ValueError(
                "warm_start=True continues the fitted network, but the new fit "
                f"differs: {'; '.join(changed)}. Set warm_start=False to fit anew."
            )
        return self.estimator_

    @property
    def tiling_(self):
        """The fitted tiling: every use of the fitted model goes through it.

        Built on each access from the fitted state and the current
        prediction parameters (``average_shifts``, ``inference_dtype``,
        ``tile_batch_size``, ``n_jobs``), so changing those after fitting
        is seen by every consumer that asks for it afterwards.

        Returns
        -------
        tiling : FittedTiling
            Focus, context, padding, the averaged tilings, the tile scorer
            and the map from raw tile scores to targets.
        """
        check_is_fitted(self)
        if self.solver_ == "torch":
            module = self.estimator_.module_
            scorer = TorchTileScorer(module, self.inference_dtype)
        else:
            module, scorer = None, SklearnTileScorer(self.estimator_)
        return FittedTiling(
            focus=self.focus_,
            context=self.context_,
            padding=self.padding,
            channels=self.channels,
            n_channels=self.n_channels_,
            n_outputs=self.n_outputs_,
            shifts=tiling_shifts(self.focus_, self.average_shifts, self.padding),
            scale=self.tile_scale_,
            offset=self.tile_offset_,
            channel_offset=self.channel_offset_,
            scorer=scorer,
            module=module,
            tile_batch_size=self.tile_batch_size,
            n_jobs=self.n_jobs,
            fitted_by=type(self).__name__,
        )

    def _prediction_grids(self, X):
        """The fitted tiling and ``X`` checked and channel-last."""
        tiling = self.tiling_
        # Column names only mean something for grids of the training size.
        if _get_feature_names(X) is not None and X.shape[1] == self.n_features_in_:
            _check_feature_names(self, X, reset=False)
        return tiling, tiling.as_grids(X)

    def predict(self, X):
        """Predict the extensive targets of grids of any size.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids with as many spatial axes and channels as at fit time; each
            ``Li`` any multiple of ``f``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Sum of the tile contributions of each grid.
        """
        tiling, grids = self._prediction_grids(X)
        y_pred = tiling.predict(grids)
        return y_pred[:, 0] if self._y_ndim == 1 else y_pred

    def predict_contributions(self, X):
        """Each tile's contribution to the prediction, on the focus grid.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids, as for :meth:`predict`.

        Returns
        -------
        contributions : ndarray of shape (n_samples, L1/f1, ..., Ld/fd) or \
(n_samples, L1/f1, ..., Ld/fd, n_outputs)
            ``contributions[s, t1, ..., td]`` is the contribution of the tile
            whose focus starts at ``(t1 f1, ..., td fd)``; summing over the
            focus axes gives :meth:`predict`. With ``average_shifts`` it is
            the mean over the tilings of the tile whose focus starts
            ``shift`` pixels before that, per tiling.
        """
        tiling, grids = self._prediction_grids(X)
        values = tiling.contributions(grids)
        return values[..., 0] if self._y_ndim == 1 else values
