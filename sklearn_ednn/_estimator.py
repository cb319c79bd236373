"""EDNNRegressor: an extensive regressor summing a shared tile model over a grid."""

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, check_X_y

from ._classical import (
    SklearnTileScorer,
    fit_classical,
    is_linear_in_parameters,
)
from ._fitted_tiling import FittedTiling
from ._sklearn_compat import (
    Interval,
    StrOptions,
    _check_feature_names,
    _fit_context,
    _get_feature_names,
)
from ._solver_result import SolverResult
from ._tiling import tiling_shifts, warn_context_wider_than_grid
from ._torch import (
    TorchTileScorer,
    fit_torch,
    is_skorch_net,
    is_torch_module,
    make_tile_net,
)
from ._validation import (
    check_grid_shape,
    check_per_axis,
    check_sample_weight,
    check_training_input,
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
    if inspect.isclass(estimator):
        raise TypeError(
            f"estimator={estimator.__name__} is a class; pass an instance, e.g. "
            f"estimator={estimator.__name__}() (only a torch.nn.Module may be "
            "given as a class)."
        )
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
        Number of jobs to run in parallel for prediction. ``-1`` means using
        all processors. A torch tile network scores every band with ``n_jobs``
        of torch's threads, which split each of its matrix products and
        convolutions (``None``: torch's own setting, every core by default);
        any other tile model is spread over ``n_jobs`` joblib workers, each
        scoring a run of samples or a band of one large grid with its share
        of the CPU threads (``None`` means 1 unless in a
        :obj:`joblib.parallel_config` context). Under joblib's dask backend
        every tile model goes to the cluster's workers.
    tile_batch_size : int, default=4096
        Largest number of tiles scored in one call of the tile model at predict
        time; bounds memory however large the grids are.
    inference_dtype : {"float32", "float64"}, default="float32"
        Precision of a torch tile model at predict time. float32 is the
        precision it is trained in and runs at the speed of float32 matrix
        products (about 2x float64 on a CPU for the default network, 7x
        for a :class:`TileFCN`); a tile's contribution may then change in
        its 7th digit with the batch it is scored in, so predictions under
        different ``n_jobs``, ``tile_batch_size`` or band shapes agree to
        about 1e-6 relative. float64 makes every tile's contribution
        independent of its batch, to round-off (1e-12), for comparisons that
        need it. Contributions are summed in float64 either way; classical
        models always predict in float64.
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
        If positive, the boosting solver prints its errors every round and
        prediction shows a progress bar over the bands of large grids. A
        torch tile model reports its training through the skorch net's own
        ``verbose``.
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
        structure's energy. Larger weights fit the forces more closely at
        some cost to the energies (the user guide compares a few). Ignored
        without ``forces``.
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
    feature_names_in_ : ndarray of shape (n_features_in,)
        Names of features seen during ``fit``. Defined only when `X`
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
    tile_offset_ : ndarray of shape (n_outputs,)
        Constant added to every tile's contribution: the mean target per tile
        for the torch solver (the intercept with ``offset="channel_totals"``),
        0 for the others (their models fit it).
    channel_offset_ : ndarray of shape (n_channels, n_outputs)
        Added to a tile's contribution per unit of each channel's total over
        its focus region: the least-squares weights with
        ``offset="channel_totals"``, zeros otherwise. A channel offset is
        part of the tile network's output (a fixed buffer of its
        :class:`EDNNModule`, in scaled units), so every scoring of tiles
        includes it.
    tile_scale_ : ndarray of shape (n_outputs,)
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
        "inference_dtype": [StrOptions({"float32", "float64"})],
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
        inference_dtype="float32",
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

    def set_params(self, **params):
        """Set the parameters of this estimator.

        As for any scikit-learn estimator, nested parameters take the form
        ``estimator__<name>``. With ``estimator=None`` or a torch module
        (class or instance) they set the parameters of the skorch net that
        trains it: ``estimator`` becomes that net (:func:`make_tile_net`)
        first, so ``estimator__lr`` works alone, in
        :class:`~sklearn.model_selection.GridSearchCV` too.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : EDNNRegressor
            This estimator.
        """
        nested = any(key.startswith("estimator__") for key in params)
        estimator = params.get("estimator", self.estimator)
        if nested and (estimator is None or is_torch_module(estimator)):
            # scikit-learn sets ``estimator`` before its nested parameters.
            params = {**params, "estimator": _torch_net(estimator)}
        return super().set_params(**params)

    def _layout(self, X):
        """Focus and context for ``X``; checks grid sizes against them."""
        n_spatial = spatial_ndim(X.ndim, self.channels)
        focus = check_per_axis(self.f, "f", n_spatial, minimum=1)
        context = check_per_axis(self.c, "c", n_spatial, minimum=0)
        check_grid_shape(X.shape[1 : 1 + n_spatial], focus)
        warn_context_wider_than_grid(
            X.shape[1 : 1 + n_spatial], focus, context, self.padding
        )
        # A bad average_shifts fails before training.
        tiling_shifts(focus, self.average_shifts, self.padding)
        return focus, context

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
        check_training_input(X, y)
        X, y = check_X_y(X, y, allow_nd=True, multi_output=True, y_numeric=True)
        focus, context = self._layout(X)
        grids = X if self.channels else X[..., np.newaxis]
        y_2d = y.reshape(len(y), -1).astype(np.float64)
        sample_weight = check_sample_weight(sample_weight, X)
        solver = self._check_solver(forces)
        if solver == "torch":
            result = fit_torch(
                _torch_net(self.estimator),
                grids,
                y_2d,
                focus=focus,
                context=context,
                padding=self.padding,
                offset=self.offset,
                forces=forces,
                force_weight=self.force_weight,
                sample_weight=sample_weight,
                random_state=self.random_state,
                warm_start_from=self._warm_start_from(grids, y_2d, focus, context),
            )
        else:
            result = fit_classical(
                self.estimator,
                grids,
                y,
                solver=solver,
                focus=focus,
                context=context,
                padding=self.padding,
                sample_weight=sample_weight,
                boosting=self._boosting_options(),
            )
        # Only now, with training done, replace the fitted state.
        self._store(result, solver, X, y, feature_names, focus, context)
        return self

    def _check_solver(self, forces):
        """The solver for this fit, after checking the options that need one."""
        solver = _resolve_solver(self.estimator, self.solver)
        if solver != "torch" and self.offset != "mean":
            raise ValueError(
                f"offset={self.offset!r} applies to torch tile networks only; "
                f"the {solver!r} solver fits its model's own offset. Use "
                "offset='mean'."
            )
        if solver != "torch" and forces is not None:
            raise ValueError(
                f"forces train torch tile networks only; the {solver!r} "
                "solver fits energies alone. Fit without forces."
            )
        return solver

    def _boosting_options(self):
        """The keywords of the boosting solver, from this estimator's parameters."""
        return dict(
            n_rounds=self.n_rounds,
            learning_rate=self.learning_rate,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            random_state=self.random_state,
            verbose=self.verbose > 0,
        )

    def _store(self, result, solver, X, y, feature_names, focus, context):
        """Set the fitted attributes from a solver's result."""
        self.estimator_ = result.tile_model
        self.solver_ = solver
        if result.boosting_history is not None:
            self.boosting_history_ = result.boosting_history
        elif hasattr(self, "boosting_history_"):
            del self.boosting_history_
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_spatial_dims_ = len(focus)
        self.grid_shape_ = X.shape[1 : 1 + self.n_spatial_dims_]
        self.n_channels_ = X.shape[-1] if self.channels else 1
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self._y_ndim = y.ndim
        self.focus_ = focus
        self.context_ = context
        self.tile_offset_ = result.tile_offset
        self.channel_offset_ = result.channel_offset
        self.tile_scale_ = result.tile_scale

    def _warm_start_from(self, X_ch, y_2d, focus, context):
        """The fitted state that a warm start continues, or None.

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
        return SolverResult(
            self.estimator_, self.tile_offset_, self.channel_offset_, self.tile_scale_
        )

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
            verbose=self.verbose > 0,
        )

    def _prediction_grids(self, X):
        """The fitted tiling and ``X`` checked and channel-last."""
        tiling = self.tiling_
        # Column names only mean something for grids of the training size.
        if _get_feature_names(X) is not None and X.shape[1] == self.n_features_in_:
            _check_feature_names(self, X, reset=False)
        return tiling, tiling.as_grids(X)

    def score(self, X, y, sample_weight=None):
        """The coefficient of determination R^2 of the predicted totals.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids of any size that is a multiple of ``f``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their extensive targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the grids.

        Returns
        -------
        score : float
            :func:`sklearn.metrics.r2_score` of ``predict(X)`` against ``y``
            (averaged uniformly over outputs). It compares with the spread of
            ``y``, which grows with the grids' size: report errors per site
            (or per atom) to compare grids of different sizes.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predict the extensive targets of grids of any size.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids with as many spatial axes and channels as at fit time; each
            ``Li`` any multiple of ``f``. A memory map, an h5py dataset or a
            zarr array is read band by band, each band within scikit-learn's
            ``working_memory``, never whole.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Sum of the tile contributions of each grid.
        """
        tiling, grids = self._prediction_grids(X)
        y_pred = tiling.predict(grids)
        return y_pred[:, 0] if self._y_ndim == 1 else y_pred

    def predict_contributions(self, X, out=None):
        """Each tile's contribution to the prediction, on the focus grid.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids, as for :meth:`predict`.
        out : array-like, default=None
            An array to write the contributions into, band by band, for maps
            too large for memory: a memory map, an h5py dataset or a zarr
            array (anything that takes slice assignment) of the shape of the
            result. It is returned.

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
        if out is not None:
            if self._y_ndim == 1 and len(out.shape) == len(grids.shape):
                raise ValueError(
                    f"out has shape {tuple(out.shape)}: for a one-dimensional "
                    "target the contributions have no output axis."
                )
            return tiling.contributions(grids, out=out)
        values = tiling.contributions(grids)
        return values[..., 0] if self._y_ndim == 1 else values
