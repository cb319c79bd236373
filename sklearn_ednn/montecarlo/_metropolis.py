"""Metropolis Monte Carlo of Ising lattices driven by an exact or EDNN energy."""

import time

import numpy as np
from sklearn.utils import Bunch, check_random_state
from tqdm.auto import tqdm

from ._energies import EDNNEnergy, ExactIsingEnergy, site_groups
from ._sampler import MonteCarloResult, check_finite_energy, metropolis_steps

__all__ = ["ising_metropolis", "ising_observables"]


# What an Ising energy answers (see ._sampler): any object that has them drives
# the chain as it is.
_PROTOCOL = ("move_separation", "start", "propose", "accept")


def _as_energy(energy):
    if energy is None:
        return ExactIsingEnergy()
    if all(callable(getattr(energy, name, None)) for name in _PROTOCOL):
        return energy
    return EDNNEnergy(energy)


def ising_metropolis(
    energy,
    temperatures,
    *,
    size=16,
    n_dims=2,
    n_replicas=4,
    n_sweeps=1000,
    n_burn_in=200,
    initial="random",
    exchange_every=None,
    verbose=False,
    random_state=None,
):
    """Sample Ising lattices by single-flip Metropolis with any energy function.

    Sites are visited in groups of sites far enough apart that their energy
    changes are independent (for an EDNN: no tile window holds two of them), so
    every replica at every temperature flips a whole group at once, and an EDNN
    re-evaluates only the tiles around each flipped site. The same code runs
    with the exact Hamiltonian, so the two can be compared on equal terms.

    Parameters
    ----------
    energy : None, EDNNRegressor or an energy of the Monte Carlo protocol
        None is the exact nearest-neighbour energy with ``J = 1``; a fitted
        EDNNRegressor (single output, one channel, periodic) drives the chain
        with its predicted energy. Any object with ``move_separation``,
        ``start``, ``propose`` and ``accept`` (such as
        :class:`EDNNEnergy`, :class:`ExactIsingEnergy` or one of your own)
        is used as it is.
    temperatures : array-like of shape (n_temperatures,)
        Temperatures in units of ``J / k_B``.
    size : int, default=16
        Lattice side.
    n_dims : int, default=2
        Number of spatial axes.
    n_replicas : int, default=4
        Independent chains per temperature; error bars come from their spread.
    n_sweeps : int, default=1000
        Measured sweeps (every site offered one flip per sweep).
    n_burn_in : int, default=200
        Sweeps discarded before measuring.
    initial : {"random", "ordered"} or array-like, default="random"
        Start from random spins, all spins up, or given lattices of shape
        (n_temperatures, n_replicas, size, ...) (for example equilibrated by
        :func:`~sklearn_ednn.datasets.make_ising` with Swendsen-Wang).
    exchange_every : int, default=None
        If given, every that many sweeps each replica ladder proposes to swap
        the chains of neighbouring temperatures (replica exchange, alternating
        even and odd pairs), which speeds up equilibration near ``Tc``.
    verbose : bool, default=False
        Show a progress bar over sweeps.
    random_state : int, RandomState instance or None, default=None
        Seed of the chains.

    Returns
    -------
    result : MonteCarloResult
        ``energies`` and ``magnetisation`` of shape (n_temperatures,
        n_replicas, n_sweeps) (totals, the energy as the driving model sees
        it), ``temperatures``, ``n_sites``, ``spins`` (final lattices, shape
        (n_temperatures, n_replicas, size, ...)), ``acceptance``,
        ``seconds_per_step`` (per attempted flip, sampling only),
        ``flips_per_second`` (its inverse) and ``exchange_acceptance``.
        Measurements are filed by temperature, whichever chain holds it.

    Examples
    --------
    >>> from sklearn_ednn.montecarlo import ising_metropolis, ising_observables
    >>> run = ising_metropolis(None, [1.5, 3.5], size=8, n_sweeps=50, n_burn_in=50,
    ...                        random_state=0)
    >>> obs = ising_observables(run)
    >>> bool(obs.abs_magnetisation[0] > obs.abs_magnetisation[1])
    True
    """
    energy = _as_energy(energy)
    rng = check_random_state(random_state)
    temperatures = np.asarray(temperatures, dtype=np.float64).ravel()
    if temperatures.size == 0 or not np.all(temperatures > 0):
        raise ValueError(f"temperatures must be positive, got {temperatures}.")
    counts = {"size": size, "n_replicas": n_replicas, "n_sweeps": n_sweeps}
    for name, value in counts.items():
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if not (isinstance(n_burn_in, (int, np.integer)) and n_burn_in >= 0):
        raise ValueError(f"n_burn_in={n_burn_in!r} must be a non-negative integer.")
    shape = (size,) * n_dims
    n_temperatures = len(temperatures)
    n_chains = n_temperatures * n_replicas
    spins = _initial_spins(initial, (n_chains,) + shape, rng)
    # slot[t, r] is the chain now at temperature t in ladder r; replica
    # exchange permutes chains between temperatures, never their spins.
    slot = np.arange(n_chains).reshape(n_temperatures, n_replicas)
    beta = np.repeat(1.0 / temperatures, n_replicas)[:, None]
    groups = site_groups(shape, energy.move_separation(shape))
    # The energy keeps the lattices and flips them as moves are accepted.
    check_finite_energy(energy.start(spins), "the starting energy")
    n_sites = int(np.prod(shape))
    energies = np.empty((n_temperatures, n_replicas, n_sweeps))
    magnetisations = np.empty((n_temperatures, n_replicas, n_sweeps))
    accepted_count, attempted, sampling_time = 0, 0, 0.0
    swaps_accepted, swaps_attempted = 0, 0
    for sweep in tqdm(range(n_burn_in + n_sweeps), disable=not verbose, desc="sweeps"):
        start = time.perf_counter()
        for _, _, accept in metropolis_steps(energy, groups, beta, rng):
            accepted_count += int(accept.sum())
            attempted += accept.size
        sampling_time += time.perf_counter() - start
        total = energy.energy_
        if exchange_every and n_temperatures > 1 and (sweep + 1) % exchange_every == 0:
            accepted_swaps = _exchange(slot, total, temperatures, sweep % 2, rng)
            swaps_accepted += accepted_swaps
            swaps_attempted += n_replicas * len(range(sweep % 2, n_temperatures - 1, 2))
            beta[slot.reshape(-1), 0] = np.repeat(1.0 / temperatures, n_replicas)
        if sweep >= n_burn_in:
            energies[..., sweep - n_burn_in] = total[slot]
            magnetisations[..., sweep - n_burn_in] = spins.reshape(n_chains, -1).sum(
                axis=1
            )[slot]
    return MonteCarloResult(
        energies=energies,
        magnetisation=magnetisations,
        temperatures=temperatures,
        n_sites=n_sites,
        spins=spins[slot],
        acceptance=accepted_count / max(attempted, 1),
        seconds_per_step=sampling_time / max(attempted, 1),
        flips_per_second=attempted / max(sampling_time, 1e-12),
        exchange_acceptance=swaps_accepted / max(swaps_attempted, 1),
    )


def _initial_spins(initial, shape, rng):
    """Starting lattices: random, ordered, or given (one per chain)."""
    if isinstance(initial, str):
        if initial == "random":
            return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
        if initial == "ordered":
            return np.ones(shape, dtype=np.int8)
        raise ValueError(
            f"initial={initial!r} must be 'random', 'ordered' or an array of spins."
        )
    spins = np.asarray(initial, dtype=np.int8)
    if spins.size != np.prod(shape):
        raise ValueError(
            f"initial has shape {spins.shape}; expected {shape[0]} lattices of "
            f"shape {shape[1:]} (n_temperatures * n_replicas of them)."
        )
    return spins.reshape(shape).copy()


def _exchange(slot, total, temperatures, parity, rng):
    """Swap neighbouring temperatures' chains (even or odd pairs) in every ladder."""
    accepted = 0
    for t in range(parity, len(temperatures) - 1, 2):
        cold, hot = slot[t].copy(), slot[t + 1].copy()
        log_ratio = (1 / temperatures[t] - 1 / temperatures[t + 1]) * (
            total[cold] - total[hot]
        )
        swap = np.log(rng.random_sample(len(cold))) < log_ratio
        slot[t, swap], slot[t + 1, swap] = hot[swap], cold[swap]
        accepted += int(swap.sum())
    return accepted


def _jackknife(observable, energy, magnetisation, temperature):
    """Value of an observable over all replicas and its jackknife error bar."""
    n = energy.shape[0]
    full = observable(energy.reshape(-1), magnetisation.reshape(-1), temperature)
    if n < 2:
        return full, np.nan
    leave_one_out = np.array(
        [
            observable(
                np.delete(energy, i, axis=0).reshape(-1),
                np.delete(magnetisation, i, axis=0).reshape(-1),
                temperature,
            )
            for i in range(n)
        ]
    )
    error = np.sqrt((n - 1) / n * np.sum((leave_one_out - leave_one_out.mean()) ** 2))
    return full, error


def ising_observables(run):
    """Thermodynamic observables per temperature, with jackknife error bars.

    Parameters
    ----------
    run : MonteCarloResult
        Output of :func:`ising_metropolis`.

    Returns
    -------
    observables : Bunch
        Per temperature (arrays of shape (n_temperatures,)), each with an
        ``<name>_error`` twin from a jackknife over the replicas:
        ``energy`` (per site), ``abs_magnetisation`` (per site),
        ``heat_capacity`` (per site, ``(<E^2> - <E>^2) / (N T^2)``),
        ``susceptibility`` (per site, ``(<M^2> - <|M|>^2) / (N T)``) and
        ``binder`` (``1 - <m^4> / (3 <m^2>^2)``); and ``temperatures``.
    """
    n_sites = run.n_sites
    out = {"temperatures": run.temperatures}
    definitions = {
        "energy": lambda e, m, T: e.mean() / n_sites,
        "abs_magnetisation": lambda e, m, T: np.abs(m).mean() / n_sites,
        "heat_capacity": lambda e, m, T: e.var() / (n_sites * T**2),
        "susceptibility": lambda e, m, T: (
            (np.mean(m**2) - np.abs(m).mean() ** 2) / (n_sites * T)
        ),
        "binder": lambda e, m, T: 1 - np.mean(m**4) / (3 * np.mean(m**2) ** 2),
    }
    for name, function in definitions.items():
        values, errors = [], []
        for i, T in enumerate(run.temperatures):
            m = run.magnetisation[i].astype(np.float64)
            value, error = _jackknife(function, run.energies[i], m, T)
            values.append(value)
            errors.append(error)
        out[name] = np.array(values)
        out[name + "_error"] = np.array(errors)
    return Bunch(**out)


def _binder_curve(magnetisation):
    """Binder cumulant per temperature from (n_temperatures, n_replicas, n_sweeps)."""
    m = magnetisation.reshape(magnetisation.shape[0], -1).astype(np.float64)
    return 1 - np.mean(m**4, axis=1) / (3 * np.mean(m**2, axis=1) ** 2)


def _crossing(temperatures, u_small, u_large):
    """First temperature where the Binder curves cross, by linear interpolation."""
    difference = u_large - u_small
    sign_change = np.nonzero(np.diff(np.sign(difference)) != 0)[0]
    if len(sign_change) == 0:
        return np.nan
    i = sign_change[0]
    t0, t1, d0, d1 = (
        temperatures[i],
        temperatures[i + 1],
        difference[i],
        difference[i + 1],
    )
    return t0 - d0 * (t1 - t0) / (d1 - d0)


def binder_crossing(small, large, *, n_bootstrap=200, random_state=None):
    """Critical temperature from the crossing of two sizes' Binder cumulants.

    Parameters
    ----------
    small, large : MonteCarloResult
        Outputs of :func:`ising_metropolis` for two lattice sizes on the same
        temperatures.
    n_bootstrap : int, default=200
        Bootstrap resamples of the replicas for the error bar.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.

    Returns
    -------
    tc : float
        Temperature where ``U_large - U_small`` changes sign (linear
        interpolation between grid temperatures); NaN if the curves do not cross.
    tc_error : float
        Standard deviation of the crossing over bootstrap resamples of the
        replicas of both runs.

    Examples
    --------
    >>> from sklearn_ednn.montecarlo import binder_crossing, ising_metropolis
    >>> runs = [ising_metropolis(None, [1.8, 2.3, 2.8], size=size, n_replicas=4,
    ...                          n_sweeps=200, random_state=0) for size in (8, 16)]
    >>> tc, error = binder_crossing(*runs, random_state=0)
    >>> bool(1.8 < tc < 2.8)
    True
    """
    if not np.array_equal(small.temperatures, large.temperatures):
        raise ValueError("Both runs must use the same temperatures.")
    rng = check_random_state(random_state)
    temperatures = small.temperatures
    tc = _crossing(
        temperatures,
        _binder_curve(small.magnetisation),
        _binder_curve(large.magnetisation),
    )
    samples = []
    for _ in range(n_bootstrap):
        picks = [
            rng.randint(run.magnetisation.shape[1], size=run.magnetisation.shape[1])
            for run in (small, large)
        ]
        samples.append(
            _crossing(
                temperatures,
                _binder_curve(small.magnetisation[:, picks[0]]),
                _binder_curve(large.magnetisation[:, picks[1]]),
            )
        )
    return float(tc), float(np.nanstd(samples))
