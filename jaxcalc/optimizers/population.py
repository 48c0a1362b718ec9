"""Population methods and simulated annealing: gradient-free, stochastic, one run at a time.

(Over 500 lines: four methods that share the population helpers and checks, with
their references and the comparison with evosax in one place.)

Four methods, each a short reference implementation with its source:

``pso``
    inertia-weight particle swarm (Shi & Eberhart 1998).
``ga``
    real-coded genetic algorithm: tournament selection, simulated binary crossover (SBX,
    Deb & Agrawal 1995), Gaussian mutation, elitism (Goldberg 1989).
``cma_es``
    CMA-ES with the default strategy parameters of Hansen's tutorial (2016), negative
    ("active") weights included.
``simulated_annealing``
    Metropolis acceptance, Gaussian proposals, geometric cooling (Kirkpatrick et al. 1983).

How they sit in the engine (:func:`jaxcalc.optimize`). Each method is written for *one*
run; inside a run the population is an array ``(P, D)`` and ``f`` is mapped over it with
``vmap``; the engine maps the run over starts and swept hyperparameters (runs on the last
axis). Every method declares ``Requires(gradient=False)`` (no gradient is ever computed:
gradient norms are NaN, gradient evaluations 0) and draws from the PRNG key ``init``
receives (derived from ``optimize(seed=...)`` and the start's index; the key lives in the
state and is split every step). One engine step is one generation:

* the recorded point and value are the *best so far*: the start ``x0`` (which the engine
  evaluates, one evaluation) or the best point evaluated since; ``StepResult.x/value``
  carry it, so the engine evaluates nothing more;
* ``StepResult.evaluations.f`` is the population size (1 for simulated annealing), and so
  is ``step_cost(dim).f``;
* a NaN value counts as ``+inf`` (never selected, never the best), so a run stays finite
  wherever some of its points are;
* the population starts around ``x0``: ``x0 + init_scale * N(0, I)`` per member for PSO and
  the GA (PSO velocities start at 0), mean ``x0`` and step size ``sigma0`` for CMA-ES, the
  chain at ``x0`` for annealing;
* ``StepResult.converged`` is true once the population has collapsed: CMA-ES when
  ``sigma * max_i sqrt(C_ii) < xtol`` (pycma's ``tolx``), PSO when every particle and every
  personal best lies within ``xtol`` (max-norm) of the best point, the GA when the
  population's extent ``max_j (max_i x_ij - min_i x_ij) < xtol``. Simulated annealing has
  no such test: its runs end at ``max_steps``.

Population sizes (and the GA's tournament size and elite count) are static options, as
they set array shapes; every number else is a traced hyperparameter that can be swept
without recompiling.

Why not evosax (Robert T. Lange, https://github.com/RobertTLange/evosax, versions up to
0.3.2): its ``init/ask/tell`` API would fit the engine's per-run ``init/step`` under
``vmap``, but it pulls in flax (and orbax-checkpoint, tensorstore, ...) with versions
coupled to JAX's; its tests are smoke tests (shapes, log lengths), none against a reference
implementation; and three of these four methods differ from their references there: its
CMA-ES ``c_mu`` omits the ``1/4`` term of the tutorial's eq. 58 (which pycma keeps), its
PSO draws one ``r1, r2`` per particle instead of per coordinate (Shi & Eberhart), and its
annealing scales the temperature by a "Boltzmann constant" 5 and floors it at 0.1. The
methods here are ~60 lines each and are checked against pycma (CMA-ES strategy parameters
and evaluation counts), scipy's differential evolution, and the Metropolis probability in
closed form (``tests/test_population.py``).

References:
  Y. Shi and R. Eberhart, "A modified particle swarm optimizer", IEEE ICEC 1998, 69-73.
  D. E. Goldberg, Genetic Algorithms in Search, Optimization and Machine Learning,
  Addison-Wesley, 1989. K. Deb and R. B. Agrawal, "Simulated binary crossover for continuous
  search space", Complex Systems 9, 1995, 115-148. N. Hansen, "The CMA Evolution Strategy:
  A Tutorial", arXiv:1604.00772, 2016. S. Kirkpatrick, C. D. Gelatt and M. P. Vecchi,
  "Optimization by simulated annealing", Science 220, 1983, 671-680.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.errors import ConfigError
from jaxcalc.lapack import blocked
from jaxcalc.optimizers.protocol import (
    Evaluations,
    Fun,
    Optimizer,
    Requires,
    StepCost,
    StepResult,
    check_range,
)
from jaxcalc.optimizers.registry import register

__all__ = [
    "CMAES",
    "POPULATION_NAMES",
    "CMAParameters",
    "GeneticAlgorithm",
    "ParticleSwarm",
    "SimulatedAnnealing",
    "cma_parameters",
]

_SHI = "Y. Shi and R. Eberhart, A modified particle swarm optimizer, IEEE ICEC 1998"
_DEB = (
    "D. E. Goldberg, Genetic Algorithms in Search, Optimization and Machine Learning, 1989; "
    "K. Deb and R. B. Agrawal, Simulated binary crossover for continuous search space, 1995"
)
_HANSEN = "N. Hansen, The CMA Evolution Strategy: A Tutorial, arXiv:1604.00772, 2016"
_KIRKPATRICK = (
    "S. Kirkpatrick, C. D. Gelatt and M. P. Vecchi, Optimization by simulated annealing, "
    "Science 220, 1983"
)

_INF = math.inf


# ----------------------------------------------------------------------------------------
# Shared pieces


def _values(fun: Fun, points: jax.Array) -> jax.Array:
    """f at every row of ``points`` (P, D); NaN becomes +inf (never selected)."""
    f = jax.vmap(fun)(points)
    return jnp.where(jnp.isnan(f), jnp.inf, f)


def _best_so_far(x, value, points, values):
    """The better of the incoming best ``(x, value)`` and the best row of ``points``."""
    i = jnp.argmin(values)
    better = values[i] < value
    return jnp.where(better, points[i], x), jnp.where(better, values[i], value)


@dataclass(frozen=True)
class _Population(Optimizer):
    """Common ground: requirements, cost per step, hyperparameter ranges, option checks."""

    requires: ClassVar[Requires] = Requires(gradient=False)

    # name -> (low, high, low open, high open); checked by `resolve`
    _ranges = {}
    _min_options = {}

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        resolved = super().resolve(values)
        for name, value in resolved.items():
            if name not in self._ranges or value is None:
                continue
            for v in value if isinstance(value, list | tuple | np.ndarray) else [value]:
                check_range(f"{self.name}.{name}", v, self._ranges[name])
        return resolved

    def with_options(self, **options: Any) -> Optimizer:
        for name, value in options.items():
            low = self._min_options.get(name)
            if low is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise ConfigError(f"{self.name}.{name}: must be an integer >= {low}; got {value!r}")
        return super().with_options(**options)

    def population_size(self, dim: int) -> int:
        """Points evaluated per generation (one engine step) in ``dim`` dimensions."""
        return 1

    def step_cost(self, dim: int) -> StepCost:
        return StepCost(f=float(self.population_size(dim)), g=0.0, h=0.0)


_POSITIVE = (0.0, _INF, True, True)
_NON_NEGATIVE = (0.0, _INF, False, True)
_PROBABILITY = (0.0, 1.0, False, False)


# ----------------------------------------------------------------------------------------
# Particle swarm


class SwarmState(NamedTuple):
    positions: jax.Array  # (P, D), evaluated at the next step
    velocities: jax.Array  # (P, D)
    personal_best: jax.Array  # (P, D)
    personal_best_values: jax.Array  # (P,)
    key: jax.Array


@dataclass(frozen=True)
class ParticleSwarm(_Population):
    """Inertia-weight particle swarm optimization.

    Each generation evaluates the particles ``x_i``, updates their personal bests ``p_i``
    and the best point so far ``g`` (the start included), then moves every particle::

        v_i <- w v_i + c1 r1 * (p_i - x_i) + c2 r2 * (g - x_i),    x_i <- x_i + v_i

    with ``r1, r2 ~ U(0, 1)`` drawn per particle and coordinate, ``w = inertia``,
    ``c1 = cognitive``, ``c2 = social``. Defaults ``w = 0.7298, c1 = c2 = 1.49618``: Clerc
    and Kennedy's constriction coefficients written in inertia form (Eberhart & Shi 2000).
    Particles start at ``x0 + init_scale * N(0, I)`` with zero velocity. Converged when all
    particles and personal bests are within ``xtol`` (max-norm) of ``g``.

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("booth", "pso", [[0.0, 0.0]], 200)

    Reference: Y. Shi and R. Eberhart, "A modified particle swarm optimizer", IEEE ICEC
    1998; R. C. Eberhart and Y. Shi, "Comparing inertia weights and constriction factors in
    particle swarm optimization", CEC 2000.
    """

    name: str = "pso"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {
            "inertia": 0.7298,
            "cognitive": 1.49618,
            "social": 1.49618,
            "init_scale": 1.0,
            "xtol": 1e-10,
        }
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"population_size": 20})
    reference: str = _SHI
    _ranges = {
        "inertia": _NON_NEGATIVE,
        "cognitive": _NON_NEGATIVE,
        "social": _NON_NEGATIVE,
        "init_scale": _POSITIVE,
        "xtol": _NON_NEGATIVE,
    }
    _min_options = {"population_size": 1}

    def population_size(self, dim: int) -> int:
        return int(self.options["population_size"])

    def init(self, fun, x, hyper, key) -> SwarmState:
        key, sub = jax.random.split(key)
        shape = (self.options["population_size"], x.shape[0])
        positions = x + hyper["init_scale"] * jax.random.normal(sub, shape, x.dtype)
        return SwarmState(
            positions,
            jnp.zeros(shape, x.dtype),
            positions,
            jnp.full(shape[:1], jnp.inf, x.dtype),
            key,
        )

    def step(self, fun, x, value, grad, state: SwarmState, hyper) -> StepResult:
        positions = state.positions
        values = _values(fun, positions)
        improved = values < state.personal_best_values
        personal = jnp.where(improved[:, None], positions, state.personal_best)
        personal_values = jnp.where(improved, values, state.personal_best_values)
        best, best_value = _best_so_far(x, value, personal, personal_values)

        key, sub = jax.random.split(state.key)
        r1, r2 = jax.random.uniform(sub, (2, *positions.shape), positions.dtype)
        velocities = (
            hyper["inertia"] * state.velocities
            + hyper["cognitive"] * r1 * (personal - positions)
            + hyper["social"] * r2 * (best - positions)
        )
        spread = jnp.maximum(jnp.max(jnp.abs(positions - best)), jnp.max(jnp.abs(personal - best)))
        return StepResult(
            best,
            SwarmState(positions + velocities, velocities, personal, personal_values, key),
            Evaluations.of(f=positions.shape[0]),
            value=best_value,
            converged=spread < hyper["xtol"],
        )

    def state_size(self, dim: int) -> int:
        p = self.options["population_size"]
        return 3 * p * dim + p + 2


# ----------------------------------------------------------------------------------------
# Genetic algorithm


class GeneticState(NamedTuple):
    offspring: jax.Array  # (P, D), evaluated at the next step
    elites: jax.Array  # (E, D), the best of the last generation
    elite_values: jax.Array  # (E,)
    key: jax.Array


@dataclass(frozen=True)
class GeneticAlgorithm(_Population):
    """A real-coded genetic algorithm with elitism.

    One generation: evaluate the offspring; the ``elite`` best of the previous generation
    replace its ``elite`` worst members (elitism). From this generation ``G``:

    * selection: ``P`` parents, each the best of ``tournament_size`` members drawn
      uniformly with replacement;
    * crossover: parents are paired; with probability ``crossover_rate`` a pair becomes
      the simulated binary crossover children, per coordinate
      ``c = ((1 + b) p1 + (1 - b) p2) / 2`` and ``((1 - b) p1 + (1 + b) p2) / 2`` with the
      spread ``b = (2u)^(1/(eta+1))`` for ``u <= 1/2``, else ``(2(1-u))^(-1/(eta+1))``,
      ``u ~ U(0, 1)``, ``eta = distribution_index``; otherwise the children are copies;
    * mutation: each coordinate, with probability ``mutation_rate``, gets
      ``mutation_scale * s_j * N(0, 1)`` added, where ``s_j`` is the standard deviation of
      coordinate ``j`` in ``G``. Scaling by the population's spread lets the search narrow
      as the population converges, like SBX's own self-adaptation (Deb & Beyer 2001).

    The first offspring are ``x0 + init_scale * N(0, I)``; the first elites are copies of
    ``x0`` (its value is the engine's evaluation of the start, recomputed here). Converged
    when the generation's extent ``max_j (max_i G_ij - min_i G_ij) < xtol``.

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("booth", "ga", [[0.0, 0.0]], 200)

    Reference: D. E. Goldberg, Genetic Algorithms in Search, Optimization and Machine
    Learning, Addison-Wesley, 1989 (tournament selection, elitism); K. Deb and R. B.
    Agrawal, "Simulated binary crossover for continuous search space", Complex Systems 9,
    1995; K. Deb and H.-G. Beyer, "Self-adaptive genetic algorithms with simulated binary
    crossover", Evolutionary Computation 9(2), 2001.
    """

    name: str = "ga"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {
            "crossover_rate": 0.9,
            "distribution_index": 2.0,
            "mutation_rate": 0.3,
            "mutation_scale": 1.0,
            "init_scale": 1.0,
            "xtol": 1e-10,
        }
    )
    options: Mapping[str, Any] = field(
        default_factory=lambda: {"population_size": 40, "tournament_size": 2, "elite": 1}
    )
    reference: str = _DEB
    _ranges = {
        "crossover_rate": _PROBABILITY,
        "distribution_index": _NON_NEGATIVE,
        "mutation_rate": _PROBABILITY,
        "mutation_scale": _NON_NEGATIVE,
        "init_scale": _POSITIVE,
        "xtol": _NON_NEGATIVE,
    }
    _min_options = {"population_size": 2, "tournament_size": 1, "elite": 0}

    def _sizes(self) -> tuple[int, int, int]:
        p, t, e = (self.options[k] for k in ("population_size", "tournament_size", "elite"))
        if e >= p:
            raise ConfigError(f"ga.elite ({e}) must be smaller than population_size ({p})")
        return p, t, e

    def population_size(self, dim: int) -> int:
        return int(self.options["population_size"])

    def init(self, fun, x, hyper, key) -> GeneticState:
        p, _, e = self._sizes()
        key, sub = jax.random.split(key)
        offspring = x + hyper["init_scale"] * jax.random.normal(sub, (p, x.shape[0]), x.dtype)
        value = jnp.asarray(fun(x), x.dtype)
        value = jnp.where(jnp.isnan(value), jnp.inf, value)
        return GeneticState(offspring, jnp.tile(x, (e, 1)), jnp.full((e,), value), key)

    def step(self, fun, x, value, grad, state: GeneticState, hyper) -> StepResult:
        p, t, e = self._sizes()
        d = x.shape[0]
        values = _values(fun, state.offspring)
        keep = jnp.argsort(values)[: p - e]  # elitism: the e worst offspring make way
        generation = jnp.concatenate([state.elites, state.offspring[keep]])
        fitness = jnp.concatenate([state.elite_values, values[keep]])
        best, best_value = _best_so_far(x, value, generation, fitness)
        top = jnp.argsort(fitness)[:e]

        # One uniform and one normal draw per generation (each random call costs compile
        # time): tournament entrants, SBX spreads, crossover and mutation decisions.
        key, k_uniform, k_normal = jax.random.split(state.key, 3)
        pairs = (p + 1) // 2
        sizes = (2 * pairs * t, pairs * d, pairs, p * d)
        u_all = jax.random.uniform(k_uniform, (sum(sizes),), x.dtype)
        u_select, u_spread, u_pair, u_mask = jnp.split(u_all, np.cumsum(sizes)[:-1])
        # tournament selection of 2 * pairs parents
        entrants = jnp.minimum((u_select * p).astype(jnp.int32), p - 1).reshape(2 * pairs, t)
        winners = jnp.take_along_axis(
            entrants, jnp.argmin(fitness[entrants], axis=1)[:, None], axis=1
        )[:, 0]
        parents = generation[winners]
        p1, p2 = parents[:pairs], parents[pairs:]
        # simulated binary crossover
        u = u_spread.reshape(pairs, d)
        power = 1.0 / (hyper["distribution_index"] + 1.0)
        b = jnp.where(u <= 0.5, (2.0 * u) ** power, (2.0 * (1.0 - u)) ** -power)
        cross = u_pair[:, None] < hyper["crossover_rate"]
        c1 = jnp.where(cross, 0.5 * ((1 + b) * p1 + (1 - b) * p2), p1)
        c2 = jnp.where(cross, 0.5 * ((1 - b) * p1 + (1 + b) * p2), p2)
        children = jnp.concatenate([c1, c2])[:p]
        # Gaussian mutation, scaled by the generation's spread per coordinate
        mutate = u_mask.reshape(p, d) < hyper["mutation_rate"]
        noise = jax.random.normal(k_normal, (p, d), x.dtype)
        spread = jnp.std(generation, axis=0)
        children = children + jnp.where(mutate, hyper["mutation_scale"] * spread * noise, 0.0)

        extent = jnp.max(jnp.max(generation, axis=0) - jnp.min(generation, axis=0))
        return StepResult(
            best,
            GeneticState(children, generation[top], fitness[top], key),
            Evaluations.of(f=p),
            value=best_value,
            converged=extent < hyper["xtol"],
        )

    def state_size(self, dim: int) -> int:
        p, _, e = self._sizes()
        return (p + e) * dim + e + 2


# ----------------------------------------------------------------------------------------
# CMA-ES


class CMAParameters(NamedTuple):
    """CMA-ES default strategy parameters for dimension ``n`` (Hansen 2016, Table 1).

    ``weights`` has ``population_size`` entries: ``mu`` positive ones summing to 1 (the
    recombination weights), then negative ones (the "active" covariance update).
    """

    population_size: int
    mu: int
    weights: np.ndarray
    mu_eff: float
    c_sigma: float
    d_sigma: float
    c_c: float
    c_1: float
    c_mu: float
    chi_n: float


def cma_parameters(n: int, population_size: int | None = None) -> CMAParameters:
    """The default strategy parameters of Hansen's tutorial (2016), Table 1 and eq. 49-58.

    With ``lambda = 4 + floor(3 ln n)`` unless given, ``mu = floor(lambda / 2)``,
    ``w'_i = ln((lambda + 1) / 2) - ln i``, positive weights ``w'_i / sum_+ w'``::

        mu_eff  = 1 / sum_{i<=mu} w_i^2
        c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
        d_sigma = 1 + 2 max(0, sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
        c_c     = (4 + mu_eff / n) / (n + 4 + 2 mu_eff / n)
        c_1     = 2 / ((n + 1.3)^2 + mu_eff)
        c_mu    = min(1 - c_1, 2 (1/4 + mu_eff + 1/mu_eff - 2) / ((n + 2)^2 + mu_eff))

    and negative weights ``w'_i min(1 + c_1/c_mu, 1 + 2 mu_eff^- / (mu_eff + 2),
    (1 - c_1 - c_mu) / (n c_mu)) / sum_- |w'|``.
    """
    lam = population_size or 4 + int(math.floor(3 * math.log(n)))
    mu = lam // 2
    raw = math.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
    positive, negative = raw[:mu], raw[mu:]
    mu_eff = positive.sum() ** 2 / (positive**2).sum()
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(1 - c_1, 2 * (0.25 + mu_eff + 1 / mu_eff - 2) / ((n + 2) ** 2 + mu_eff))
    weights = raw.copy()
    weights[:mu] = positive / positive.sum()
    if negative.size and negative.sum() < 0:
        mu_eff_minus = negative.sum() ** 2 / (negative**2).sum()
        alpha = min(
            1 + c_1 / c_mu,
            1 + 2 * mu_eff_minus / (mu_eff + 2),
            (1 - c_1 - c_mu) / (n * c_mu),
        )
        weights[mu:] = alpha * negative / -negative.sum()
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return CMAParameters(lam, mu, weights, float(mu_eff), c_sigma, d_sigma, c_c, c_1, c_mu, chi_n)


class CMAState(NamedTuple):
    mean: jax.Array  # (D,)
    sigma: jax.Array  # ()
    covariance: jax.Array  # (D, D)
    path_sigma: jax.Array  # (D,)
    path_c: jax.Array  # (D,)
    generation: jax.Array  # () int32
    key: jax.Array


@dataclass(frozen=True)
class CMAES(_Population):
    """CMA-ES: the covariance matrix adaptation evolution strategy (Hansen 2016).

    Generation ``g`` samples ``x_k = m + sigma y_k``, ``y_k = B D z_k ~ N(0, C)``,
    ``z_k ~ N(0, I)`` (``C = B D^2 B^T``), ranks them by f and updates, with ``y_w =
    sum_{i<=mu} w_i y_{i:lambda}``::

        m       <- m + sigma y_w
        p_sigma <- (1 - c_sigma) p_sigma + sqrt(c_sigma (2 - c_sigma) mu_eff) C^(-1/2) y_w
        sigma   <- sigma exp(c_sigma / d_sigma (|p_sigma| / E|N(0, I)| - 1))
        p_c     <- (1 - c_c) p_c + h_sigma sqrt(c_c (2 - c_c) mu_eff) y_w
        C       <- (1 + c_1 delta(h_sigma) - c_1 - c_mu sum w_j) C + c_1 p_c p_c^T
                   + c_mu sum_i w°_i y_{i:lambda} y_{i:lambda}^T

    with ``w°_i = w_i`` for ``w_i >= 0`` and ``w_i n / |C^(-1/2) y_{i:lambda}|^2`` else,
    ``h_sigma = 1`` iff ``|p_sigma| / sqrt(1 - (1 - c_sigma)^(2(g+1))) < (1.4 + 2/(n+1))
    E|N(0, I)|`` and ``delta(h_sigma) = (1 - h_sigma) c_c (2 - c_c)`` (the tutorial's
    Algorithm, eq. 39-47). Strategy parameters: :func:`cma_parameters` (the tutorial's
    defaults, as in pycma except pycma's ``c_sigma = min(1/2, (mu_eff + 2) / (n + mu_eff +
    3))``). The mean starts at ``x0``, the step size at ``sigma0``, ``C = I``;
    ``population_size = 0`` means ``4 + floor(3 ln n)``. Converged when ``sigma max_i
    sqrt(C_ii) < xtol``.

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("rosenbrock", "cma_es", [[-1.2, 1.0]], 300, sigma0=0.5)

    Reference: N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016.
    """

    name: str = "cma_es"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"sigma0": 1.0, "xtol": 1e-11}
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"population_size": 0})
    reference: str = _HANSEN
    _ranges = {"sigma0": _POSITIVE, "xtol": _NON_NEGATIVE}
    _min_options = {"population_size": 0}

    def parameters(self, dim: int) -> CMAParameters:
        size = self.options["population_size"]
        if size == 1:
            raise ConfigError("cma_es.population_size: must be 0 (automatic) or >= 2; got 1")
        return cma_parameters(dim, size or None)

    def population_size(self, dim: int) -> int:
        return self.parameters(dim).population_size

    def init(self, fun, x, hyper, key) -> CMAState:
        n = x.shape[0]
        zeros = jnp.zeros_like(x)
        return CMAState(
            x,
            jnp.asarray(hyper["sigma0"], x.dtype),
            jnp.eye(n, dtype=x.dtype),
            zeros,
            zeros,
            jnp.int32(0),
            key,
        )

    def step(self, fun, x, value, grad, state: CMAState, hyper) -> StepResult:
        n = x.shape[0]
        sp = self.parameters(n)
        dtype = x.dtype
        weights = jnp.asarray(sp.weights, dtype)
        m, sigma, cov = state.mean, state.sigma, state.covariance

        eigenvalues, basis = blocked(jnp.linalg.eigh, n, n)(cov)
        scales = jnp.sqrt(jnp.maximum(eigenvalues, jnp.finfo(dtype).tiny))  # D's diagonal
        key, sub = jax.random.split(state.key)
        z = jax.random.normal(sub, (sp.population_size, n), dtype)
        y = (z * scales) @ basis.T  # rows y_k = B D z_k
        points = m + sigma * y
        values = _values(fun, points)
        best, best_value = _best_so_far(x, value, points, values)

        y = y[jnp.argsort(values)]
        y_w = weights[: sp.mu] @ y[: sp.mu]
        # C^(-1/2); times the reciprocals, which XLA:CPU makes of a division by a broadcast
        # on one device but not in a program for several: the same bits on both
        inv_sqrt = (basis * (1 / scales)) @ basis.T

        p_sigma = (1 - sp.c_sigma) * state.path_sigma + math.sqrt(
            sp.c_sigma * (2 - sp.c_sigma) * sp.mu_eff
        ) * (inv_sqrt @ y_w)
        norm = jnp.linalg.norm(p_sigma)
        sigma_new = sigma * jnp.exp(sp.c_sigma / sp.d_sigma * (norm / sp.chi_n - 1))
        g = state.generation + 1
        correction = jnp.sqrt(1 - (1 - sp.c_sigma) ** (2.0 * g))
        h_sigma = norm / correction < (1.4 + 2 / (n + 1)) * sp.chi_n
        p_c = (1 - sp.c_c) * state.path_c + jnp.where(
            h_sigma, math.sqrt(sp.c_c * (2 - sp.c_c) * sp.mu_eff), 0.0
        ) * y_w

        mahalanobis2 = jnp.sum((y @ inv_sqrt) ** 2, axis=1)  # |C^(-1/2) y_i|^2
        w_circ = jnp.where(weights >= 0, weights, weights * n / jnp.maximum(mahalanobis2, 1e-300))
        delta = jnp.where(h_sigma, 0.0, sp.c_c * (2 - sp.c_c))
        rank_mu = (y * w_circ[:, None]).T @ y
        cov_new = (
            (1 + sp.c_1 * delta - sp.c_1 - sp.c_mu * float(sp.weights.sum())) * cov
            + sp.c_1 * jnp.outer(p_c, p_c)
            + sp.c_mu * rank_mu
        )
        cov_new = 0.5 * (cov_new + cov_new.T)

        width = sigma_new * jnp.sqrt(jnp.max(jnp.diag(cov_new)))
        return StepResult(
            best,
            CMAState(m + sigma * y_w, sigma_new, cov_new, p_sigma, p_c, g, key),
            Evaluations.of(f=sp.population_size),
            value=best_value,
            converged=width < hyper["xtol"],
        )

    def state_size(self, dim: int) -> int:
        return 3 * dim * dim + 3 * dim + 4  # C and its eigendecomposition, m, paths


# ----------------------------------------------------------------------------------------
# Simulated annealing


class AnnealingState(NamedTuple):
    current: jax.Array  # (D,), the chain's point
    current_value: jax.Array  # ()
    temperature: jax.Array  # ()
    key: jax.Array


@dataclass(frozen=True)
class SimulatedAnnealing(_Population):
    """Simulated annealing: a Metropolis chain at a falling temperature.

    Step ``k`` proposes ``x' = x + step_size * N(0, I)`` and accepts it with the Metropolis
    probability ``min(1, exp(-(f(x') - f(x)) / T_k))``; the temperature cools
    geometrically, ``T_k = initial_temperature * cooling^k``. The chain starts at ``x0``
    (its value is the engine's evaluation of the start, recomputed here). One evaluation
    per step; the recorded point is the best so far, not the chain's current point (which
    is in the state). There is no convergence test: runs end at ``max_steps``.

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("(x^2 - 1)^2 + 0.3*x", "simulated_annealing", [[1.0]], 500)

    Reference: S. Kirkpatrick, C. D. Gelatt and M. P. Vecchi, "Optimization by simulated
    annealing", Science 220(4598), 1983, 671-680; N. Metropolis et al., J. Chem. Phys. 21,
    1953.
    """

    name: str = "simulated_annealing"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"initial_temperature": 1.0, "cooling": 0.99, "step_size": 0.5}
    )
    reference: str = _KIRKPATRICK
    _ranges = {
        "initial_temperature": _POSITIVE,
        "cooling": (0.0, 1.0, True, False),
        "step_size": _POSITIVE,
    }

    def init(self, fun, x, hyper, key) -> AnnealingState:
        value = jnp.asarray(fun(x), x.dtype)
        value = jnp.where(jnp.isnan(value), jnp.inf, value)
        temperature = jnp.asarray(hyper["initial_temperature"], x.dtype)
        return AnnealingState(x, value, temperature, key)

    def step(self, fun, x, value, grad, state: AnnealingState, hyper) -> StepResult:
        key, k_move, k_accept = jax.random.split(state.key, 3)
        proposal = state.current + hyper["step_size"] * jax.random.normal(k_move, x.shape, x.dtype)
        proposal_value = fun(proposal)
        proposal_value = jnp.where(jnp.isnan(proposal_value), jnp.inf, proposal_value)
        increase = proposal_value - state.current_value
        u = jax.random.uniform(k_accept, (), x.dtype)
        accept = (increase <= 0) | (u < jnp.exp(-increase / state.temperature))
        better = proposal_value < value
        return StepResult(
            jnp.where(better, proposal, x),
            AnnealingState(
                jnp.where(accept, proposal, state.current),
                jnp.where(accept, proposal_value, state.current_value),
                state.temperature * hyper["cooling"],
                key,
            ),
            Evaluations.of(f=1),
            value=jnp.where(better, proposal_value, value),
        )

    def state_size(self, dim: int) -> int:
        return dim + 4


#: the population methods and annealing, in the order optimizer_names() lists them
POPULATION_NAMES = ("pso", "ga", "cma_es", "simulated_annealing")
for _name, _factory in zip(
    POPULATION_NAMES, (ParticleSwarm, GeneticAlgorithm, CMAES, SimulatedAnnealing), strict=True
):
    register(_name, _factory)
