"""Population methods and simulated annealing against references from outside jaxcalc.

* CMA-ES: strategy parameters against pycma's (``CMAEvolutionStrategy(...).sp``) and the
  tutorial's formulas; evaluations to reach f <= 1e-8 against pycma's on the sphere, an
  ellipsoid and Rosenbrock.
* PSO and the GA: reach the minimum of the sphere, Booth and 2-D Rastrigin, as
  ``scipy.optimize.differential_evolution`` (a peer) does.
* Simulated annealing: acceptance frequencies equal the Metropolis probability in closed
  form; it finds the global minimum of a double well where gradient descent does not.
* Engine properties: batched runs equal a plain loop over each start with the documented
  key ``fold_in(key(seed), start)``; new values and starts do not recompile; a seed
  reproduces, another differs; chunking changes nothing; no gradients are counted.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
from scipy.special import ndtr

from jaxcalc.engine import optimize
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import POPULATION_NAMES, get_optimizer
from jaxcalc.optimizers.population import cma_parameters

cma = pytest.importorskip("cma")


@pytest.fixture(scope="module", autouse=True)
def float64():
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def sphere(x):
    return jnp.sum(x**2)


def ellipsoid(x):
    """sum_i 10^(6 (i-1)/(n-1)) x_i^2: condition number 1e6 (Hansen's f_elli)."""
    n = x.shape[0]
    return jnp.sum(10.0 ** (6.0 * jnp.arange(n) / (n - 1)) * x**2)


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


def rastrigin(x):
    return 10.0 * x.shape[0] + jnp.sum(x**2 - 10.0 * jnp.cos(2 * jnp.pi * x))


# ----------------------------------------------------------------------------------------
# CMA-ES against pycma


@pytest.mark.parametrize("n", [2, 3, 5, 10, 40])
def test_cma_default_parameters_match_pycma(n):
    """lambda, mu, the weights (negative ones included), mu_eff, c_c, c_1, c_mu equal
    pycma's; c_sigma and d_sigma follow the tutorial (pycma uses its own c_sigma =
    min(1/2, (mu_eff + 2) / (n + mu_eff + 3)) and d_sigma = 1 + c_sigma here)."""
    ours = cma_parameters(n)
    es = cma.CMAEvolutionStrategy(n * [1.0], 0.5, {"verbose": -9, "seed": 1})
    sp = es.sp
    assert ours.population_size == sp.popsize == 4 + math.floor(3 * math.log(n))
    assert ours.mu == sp.weights.mu
    np.testing.assert_allclose(ours.weights, np.asarray(list(sp.weights)), rtol=1e-12)
    for name, theirs in [
        ("mu_eff", sp.weights.mueff),
        ("c_c", sp.cc),
        ("c_1", sp.c1),
        ("c_mu", sp.cmu),
    ]:
        assert getattr(ours, name) == pytest.approx(theirs, rel=1e-12), name
    mu_eff = ours.mu_eff
    assert ours.c_sigma == pytest.approx((mu_eff + 2) / (n + mu_eff + 5), rel=1e-15)
    assert ours.d_sigma == pytest.approx(
        1 + 2 * max(0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + ours.c_sigma, rel=1e-15
    )
    pycma_cs = min(0.5, (mu_eff + 2) / (n + mu_eff + 3))
    assert es.adapt_sigma.cs == pytest.approx(pycma_cs, rel=1e-12)


def test_cma_population_size_option():
    assert cma_parameters(5, 20).population_size == 20
    assert cma_parameters(5, 20).mu == 10
    with pytest.raises(ConfigError, match="population_size"):
        optimize(sphere, "cma_es", np.ones(2), 3, population_size=1)


# (objective, dim, x0, sigma0); 5 runs each
CMA_PROBLEMS = [
    (sphere, 10, 1.0, 1.0),
    (ellipsoid, 5, 1.0, 1.0),
    (rosenbrock, 2, 0.0, 0.5),
    (rosenbrock, 5, 0.0, 0.5),
]
SEEDS = 5
TARGET = 1e-8


def _pycma_evaluations(fun, dim, x0, sigma0) -> list[int]:
    f = jax.jit(fun)
    counts = []
    for seed in range(1, SEEDS + 1):
        es = cma.CMAEvolutionStrategy(
            dim * [x0], sigma0, {"seed": seed, "ftarget": TARGET, "verbose": -9}
        )
        es.optimize(lambda z: float(f(jnp.asarray(z))))
        counts.append(es.result.evaluations if es.result.fbest <= TARGET else -1)
    return counts


@pytest.mark.parametrize(("fun", "dim", "x0", "sigma0"), CMA_PROBLEMS)
def test_cma_es_evaluations_match_pycma(fun, dim, x0, sigma0):
    """Median evaluations to f <= 1e-8 within a factor 2 of pycma's, every run of ours
    reaching it (pycma's active CMA is the same algorithm; it differs in c_sigma and
    details such as its step-size damping, so counts agree in distribution, not run by
    run)."""
    lam = cma_parameters(dim).population_size
    t = optimize(
        fun, "cma_es", np.full((SEEDS, dim), x0), 800, sigma0=sigma0, check_curvature=False
    )
    below = t.values <= TARGET
    assert below.any(axis=1).all(), t.final_values
    ours = 1 + lam * below.argmax(axis=1)  # the start, then lambda per generation
    theirs = [c for c in _pycma_evaluations(fun, dim, x0, sigma0) if c > 0]
    assert len(theirs) >= SEEDS - 1
    ratio = np.median(ours) / np.median(theirs)
    print(f"{fun.__name__}-{dim}D: ours {sorted(ours)} pycma {sorted(theirs)} ratio {ratio:.2f}")
    assert 0.5 <= ratio <= 2.0
    assert set(t.status) == {"converged"}  # then sigma sqrt(max C_ii) < xtol


# ----------------------------------------------------------------------------------------
# PSO and the GA against differential evolution

# (objective, dim, half-width of the start box, f target)
QUALITY = [(sphere, 5, 5.0), (booth, 2, 10.0), (rastrigin, 2, 5.12)]
RUNS = 8


@functools.cache
def _differential_evolution(fun, dim: int, width: float) -> np.ndarray:
    f = jax.jit(jax.vmap(fun, in_axes=1))  # scipy's vectorized form: z is (dim, S)
    out = []
    for seed in range(3):
        res = so.differential_evolution(
            lambda z: np.asarray(f(jnp.asarray(z))),
            [(-width, width)] * dim,
            seed=seed,
            maxiter=300,
            tol=0,
            polish=False,
            vectorized=True,
            updating="deferred",
        )
        out.append(res.fun)
    return np.asarray(out)


@pytest.mark.parametrize(("name", "steps"), [("pso", 400), ("ga", 400)])
@pytest.mark.parametrize(("fun", "dim", "width"), QUALITY)
def test_pso_and_ga_find_the_minimum_like_differential_evolution(name, steps, fun, dim, width):
    """Starts uniform in the box, population spread init_scale = width / 2: every run
    reaches f < 1e-8 (the minimum is 0), as scipy's differential evolution does on the
    same box (its final values are checked too, so the comparison means something)."""
    x0 = np.random.default_rng(7).uniform(-width, width, (RUNS, dim))
    t = optimize(fun, name, x0, steps, init_scale=width / 2, check_curvature=False)
    peer = _differential_evolution(fun, dim, width)
    assert np.all(peer < 1e-8), peer
    assert np.all(t.final_values < 1e-8), (t.final_values, t.status)
    assert not set(t.status) - {"converged", "max_steps"}


# ----------------------------------------------------------------------------------------
# Simulated annealing


def test_metropolis_acceptance_frequencies_match_the_closed_form():
    """One step on f(x) = x from x = 0, proposal x' = s z: accepted with probability
    min(1, exp(-s z / T)). Over 200 000 chains, the acceptance frequency in bins of the
    increase matches the bin's mean probability, and the overall rate matches
    1/2 + exp(a^2 / 2) Phi(-a), a = s / T (within 5 binomial standard errors)."""
    method = get_optimizer("simulated_annealing")
    s, temperature = 0.8, 0.5
    hyper = {"initial_temperature": temperature, "cooling": 0.9, "step_size": s}
    hyper = {k: jnp.float64(v) for k, v in hyper.items()}

    def linear(x):
        return x[0]

    def one(key):
        x = jnp.zeros(1)
        state = method.init(linear, x, hyper, key)
        res = method.step(linear, x, linear(x), jnp.zeros(1), state, hyper)
        return res.state.current[0], res.state.temperature, res.value

    n = 200_000
    keys = jax.random.split(jax.random.key(3), n)
    current, temperatures, best = (np.asarray(a) for a in jax.jit(jax.vmap(one))(keys))
    moved = current != 0.0  # accepted: the chain is at the proposal, f increased by it
    increase = current
    np.testing.assert_allclose(temperatures, temperature * 0.9, rtol=1e-15)
    downhill = best < 0  # a downhill proposal is always accepted (and is the best so far)
    assert np.all(moved[downhill])
    a = s / temperature
    expected = 0.5 + math.exp(a * a / 2) * ndtr(-a)
    se = math.sqrt(expected * (1 - expected) / n)
    assert abs(moved.mean() - expected) < 5 * se, (moved.mean(), expected)
    # uphill moves: the accepted increases are distributed as the proposal density times
    # exp(-delta / T); compare P(accepted, delta in bin) with its closed form
    edges = np.array([0.0, 0.2, 0.4, 0.8, 1.6])
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        observed = np.mean(moved & (increase > lo) & (increase <= hi))
        grid = np.linspace(lo, hi, 2001)
        density = np.exp(-0.5 * (grid / s) ** 2) / (s * math.sqrt(2 * math.pi))
        closed = np.trapezoid(density * np.exp(-grid / temperature), grid)
        se = math.sqrt(closed * (1 - closed) / n)
        assert abs(observed - closed) < 5 * se + 1e-6, (lo, hi, observed, closed)


def double_well(x):
    """(x^2 - 1)^2 + 0.3 x: global minimum near -1.04, a local one near 0.96."""
    return (x[0] ** 2 - 1) ** 2 + 0.3 * x[0]


def test_annealing_finds_the_global_minimum_of_a_double_well():
    """From x0 = 1.5 (the local minimum's basin), gradient descent ends at the local
    minimum in every run; annealing (defaults, 1000 steps) ends in the global basin in
    at least 85% of 200 runs."""
    starts = np.full((200, 1), 1.5)
    sa = optimize(double_well, "simulated_annealing", starts, 1000, check_curvature=False)
    gd = optimize(double_well, "gd", starts[:4], 2000, learning_rate=0.01)
    assert np.all(gd.final_params[:, 0] > 0)
    global_basin = sa.final_params[:, 0] < 0
    assert global_basin.mean() >= 0.85, global_basin.mean()
    np.testing.assert_allclose(
        sa.final_params[global_basin, 0].mean(), -1.0356, atol=0.05
    )  # the global minimiser, to the chain's resolution


# ----------------------------------------------------------------------------------------
# Engine properties, every method on Booth

ENGINE_STEPS = {"cma_es": 120, "pso": 200, "ga": 150, "simulated_annealing": 300}
# a numeric hyperparameter of each, and another value for it
OTHER = {
    "cma_es": ("sigma0", 0.3),
    "pso": ("init_scale", 0.5),
    "ga": ("mutation_scale", 0.7),
    "simulated_annealing": ("initial_temperature", 2.0),
}
BOOTH_STARTS = np.array([[0.0, 0.0], [-3.0, -2.0], [5.0, 8.0], [10.0, -10.0], [1.0, 1.0]])


@functools.cache
def _booth(name: str, seed: int = 0):
    return optimize(booth, name, BOOTH_STARTS, ENGINE_STEPS[name], seed=seed, check_curvature=False)


def _loop(name: str, x0: np.ndarray, start: int, seed: int = 0):
    """One run by hand: init with fold_in(key(seed), start), then step until converged."""
    method = get_optimizer(name)
    hyper = {k: jnp.float64(v) for k, v in method.defaults.items()}
    key = jax.random.fold_in(jax.random.key(seed), start)
    x = jnp.asarray(x0, jnp.float64)
    state = method.init(booth, x, hyper, key)
    step = jax.jit(lambda x, f, s: method.step(booth, x, f, jnp.zeros_like(x), s, hyper))
    f, evaluations, event = booth(x), 1, -1
    for k in range(1, ENGINE_STEPS[name] + 1):
        res = step(x, f, state)
        x, f, state = res.x, res.value, res.state
        evaluations += int(res.evaluations.f)
        if res.converged is not None and bool(res.converged):
            event = k
            break
    return np.asarray(x), float(f), event, evaluations


@pytest.mark.parametrize("name", POPULATION_NAMES)
def test_batched_equals_looped_per_start(name):
    t = _booth(name)
    for i, x0 in list(enumerate(BOOTH_STARTS))[::2]:  # a plain loop is slow: 3 of 5
        x, f, event, evaluations = _loop(name, x0, i)
        np.testing.assert_allclose(t.final_params[i], x, rtol=1e-10, atol=1e-14)
        assert t.final_values[i] == pytest.approx(f, rel=1e-10, abs=1e-20)
        assert t.event_step[i] == event
        assert t.function_evaluations[i] == evaluations


@pytest.mark.parametrize("name", POPULATION_NAMES)
def test_engine_properties(name):
    t = _booth(name)
    assert t.compile_seconds > 0
    assert np.all(np.isnan(t.grad_norms))
    assert np.all(t.gradient_evaluations == 0) and np.all(t.hessian_evaluations == 0)
    method = get_optimizer(name)
    size = (
        method.parameters(2).population_size
        if name == "cma_es"
        else method.options.get("population_size", 1)
    )
    done = np.where(t.event_step >= 0, t.event_step, ENGINE_STEPS[name])
    np.testing.assert_array_equal(t.function_evaluations, 1 + size * done)
    # best so far: the recorded values never increase
    assert np.all(np.diff(t.values, axis=1) <= 0)

    again = optimize(booth, name, BOOTH_STARTS, ENGINE_STEPS[name], check_curvature=False)
    assert again.compile_seconds == 0.0
    for a, b in zip(t.to_numpy().values(), again.to_numpy().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = _booth(name, seed=1)
    assert other_seed.compile_seconds == 0.0  # the seed is data
    assert not np.array_equal(t.params, other_seed.params)


@pytest.mark.parametrize("name", POPULATION_NAMES)
def test_sweeps_and_chunks_do_not_recompile_or_change_results(name):
    """A sweep of 2 values x 5 starts in chunks of 5 runs equals the same sweep in one
    chunk; new values and starts reuse the compiled program; and (common random
    numbers: start i draws the same stream under every value) its first value equals a
    plain run with that value."""
    key, value = OTHER[name]

    def sweep(starts, values, chunk_size=None):
        return optimize(
            booth,
            name,
            starts,
            ENGINE_STEPS[name],
            check_curvature=False,
            chunk_size=chunk_size,
            **{key: values},
        )

    _booth(name)  # compiles the 5-run program
    chunked = sweep(BOOTH_STARTS + 0.5, [value, value * 2], chunk_size=5)
    assert chunked.chunks == 2
    whole = sweep(BOOTH_STARTS + 0.5, [value, value * 2])
    assert whole.chunks == 1
    for a, b in zip(whole.to_numpy().values(), chunked.to_numpy().values(), strict=True):
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, b)
    again = sweep(BOOTH_STARTS - 0.5, [value * 3, value / 2])  # new values, new starts
    assert again.compile_seconds == 0.0
    single = sweep(BOOTH_STARTS + 0.5, value)  # a 5-run program: compiled already
    assert single.compile_seconds == 0.0
    np.testing.assert_allclose(whole.final_params[0], single.final_params, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("cma_es", {"sigma0": 0.0}, r"cma_es\.sigma0: must be in \(0, inf\)"),
        ("pso", {"init_scale": -1.0}, r"pso\.init_scale"),
        ("ga", {"mutation_rate": 1.5}, r"ga\.mutation_rate: must be in \[0, 1\]"),
        ("simulated_annealing", {"cooling": [0.9, 1.2]}, r"simulated_annealing\.cooling"),
        ("ga", {"elite": 40}, r"ga\.elite \(40\) must be smaller"),
        ("pso", {"population_size": 0}, r"pso\.population_size: must be an integer >= 1"),
    ],
)
def test_bad_settings_are_refused(name, hyper, message):
    with pytest.raises(ConfigError, match=message):
        optimize(booth, name, np.zeros(2), 3, **hyper)
