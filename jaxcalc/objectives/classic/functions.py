"""The classic test functions, pure ``jax.numpy`` on one point of shape ``(d,)``."""

from __future__ import annotations

import math

import jax.numpy as jnp

PI = math.pi


def _index(x):
    """The 1-based coordinate index ``1, 2, ..., d`` in the dtype of ``x``."""
    return jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)


def sphere(x):
    return jnp.sum(x**2)


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def himmelblau(x):
    x1, x2 = x[0], x[1]
    return (x1**2 + x2 - 11.0) ** 2 + (x1 + x2**2 - 7.0) ** 2


def beale(x):
    x1, x2 = x[0], x[1]
    return (
        (1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2**2) ** 2 + (2.625 - x1 + x1 * x2**3) ** 2
    )


def booth(x):
    x1, x2 = x[0], x[1]
    return (x1 + 2.0 * x2 - 7.0) ** 2 + (2.0 * x1 + x2 - 5.0) ** 2


def matyas(x):
    x1, x2 = x[0], x[1]
    return 0.26 * (x1**2 + x2**2) - 0.48 * x1 * x2


def three_hump_camel(x):
    x1, x2 = x[0], x[1]
    return 2.0 * x1**2 - 1.05 * x1**4 + x1**6 / 6.0 + x1 * x2 + x2**2


def six_hump_camel(x):
    x1, x2 = x[0], x[1]
    return (4.0 - 2.1 * x1**2 + x1**4 / 3.0) * x1**2 + x1 * x2 + (-4.0 + 4.0 * x2**2) * x2**2


def goldstein_price(x):
    x1, x2 = x[0], x[1]
    a = 1.0 + (x1 + x2 + 1.0) ** 2 * (
        19.0 - 14.0 * x1 + 3.0 * x1**2 - 14.0 * x2 + 6.0 * x1 * x2 + 3.0 * x2**2
    )
    b = 30.0 + (2.0 * x1 - 3.0 * x2) ** 2 * (
        18.0 - 32.0 * x1 + 12.0 * x1**2 + 48.0 * x2 - 36.0 * x1 * x2 + 27.0 * x2**2
    )
    return a * b


def rastrigin(x):
    return 10.0 * x.shape[-1] + jnp.sum(x**2 - 10.0 * jnp.cos(2.0 * PI * x))


def make_ackley(a: float, b: float, c: float):
    def ackley(x):
        d = x.shape[-1]
        return (
            -a * jnp.exp(-b * jnp.sqrt(jnp.sum(x**2) / d))
            - jnp.exp(jnp.sum(jnp.cos(c * x)) / d)
            + a
            + math.e
        )

    return ackley


def griewank(x):
    return 1.0 + jnp.sum(x**2) / 4000.0 - jnp.prod(jnp.cos(x / jnp.sqrt(_index(x))))


def levy(x):
    w = 1.0 + (x - 1.0) / 4.0
    head = jnp.sin(PI * w[0]) ** 2
    body = jnp.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * jnp.sin(PI * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + jnp.sin(2.0 * PI * w[-1]) ** 2)
    return head + body + tail


def styblinski_tang(x):
    return 0.5 * jnp.sum(x**4 - 16.0 * x**2 + 5.0 * x)


def schwefel(x):
    return 418.9829 * x.shape[-1] - jnp.sum(x * jnp.sin(jnp.sqrt(jnp.abs(x))))


def zakharov(x):
    s = jnp.sum(0.5 * _index(x) * x)
    return jnp.sum(x**2) + s**2 + s**4


def dixon_price(x):
    i = _index(x)
    return (x[0] - 1.0) ** 2 + jnp.sum(i[1:] * (2.0 * x[1:] ** 2 - x[:-1]) ** 2)


def trid(x):
    return jnp.sum((x - 1.0) ** 2) - jnp.sum(x[1:] * x[:-1])


def easom(x):
    x1, x2 = x[0], x[1]
    return -jnp.cos(x1) * jnp.cos(x2) * jnp.exp(-((x1 - PI) ** 2) - (x2 - PI) ** 2)


def mccormick(x):
    x1, x2 = x[0], x[1]
    return jnp.sin(x1 + x2) + (x1 - x2) ** 2 - 1.5 * x1 + 2.5 * x2 + 1.0


def bukin6(x):
    x1, x2 = x[0], x[1]
    # SB: 100 sqrt(|x2 - 0.01 x1^2|) + 0.01 |x1 + 10|, written so that the ridge term is
    # exactly 0 at (-10, 1) even when XLA fuses it into an FMA (0.01 is not a binary number)
    return 10.0 * jnp.sqrt(jnp.abs(100.0 * x2 - x1**2)) + 0.01 * jnp.abs(x1 + 10.0)


def eggholder(x):
    x1, x2 = x[0], x[1]
    return -(x2 + 47.0) * jnp.sin(jnp.sqrt(jnp.abs(x2 + x1 / 2.0 + 47.0))) - x1 * jnp.sin(
        jnp.sqrt(jnp.abs(x1 - (x2 + 47.0)))
    )


def holder_table(x):
    x1, x2 = x[0], x[1]
    r = jnp.sqrt(x1**2 + x2**2)
    return -jnp.abs(jnp.sin(x1) * jnp.cos(x2) * jnp.exp(jnp.abs(1.0 - r / PI)))


def cross_in_tray(x):
    # SB: -0.0001 (|sin x1 sin x2 exp(|100 - r/pi|)| + 1)^0.1. exp(|100 - r/pi|) reaches
    # e^100 > float32's largest value, so the same number is computed in log space:
    # (|s| e^a + 1)^0.1 = exp(0.1 log(e^(log|s| + a) + 1)).
    x1, x2 = x[0], x[1]
    a = jnp.abs(100.0 - jnp.sqrt(x1**2 + x2**2) / PI)
    log_inner = jnp.logaddexp(jnp.log(jnp.abs(jnp.sin(x1) * jnp.sin(x2))) + a, 0.0)
    return -0.0001 * jnp.exp(0.1 * log_inner)


def make_michalewicz(m: int):
    def michalewicz(x):
        return -jnp.sum(jnp.sin(x) * jnp.sin(_index(x) * x**2 / PI) ** (2 * m))

    return michalewicz


def schaffer2(x):
    x1, x2 = x[0], x[1]
    return 0.5 + (jnp.sin(x1**2 - x2**2) ** 2 - 0.5) / (1.0 + 0.001 * (x1**2 + x2**2)) ** 2


def bohachevsky1(x):
    x1, x2 = x[0], x[1]
    return x1**2 + 2.0 * x2**2 - 0.3 * jnp.cos(3.0 * PI * x1) - 0.4 * jnp.cos(4.0 * PI * x2) + 0.7


def sum_squares(x):
    return jnp.sum(_index(x) * x**2)


def rotated_hyper_ellipsoid(x):
    return jnp.sum(jnp.cumsum(x**2))


def drop_wave(x):
    # cos(12 r) is an even, entire function of r, so drop-wave is smooth at 0 even though
    # r = sqrt(s) is not; the double `where` keeps jax.grad finite (and exact: 0) there.
    s = x[0] ** 2 + x[1] ** 2
    positive = s > 0.0
    r = jnp.sqrt(jnp.where(positive, s, 1.0))
    c = jnp.where(positive, jnp.cos(12.0 * r), 1.0)
    return -(1.0 + c) / (0.5 * s + 2.0)


BRANIN_B = 5.1 / (4.0 * PI**2)
BRANIN_C = 5.0 / PI
BRANIN_T = 1.0 / (8.0 * PI)


def branin(x):
    x1, x2 = x[0], x[1]
    return (
        (x2 - BRANIN_B * x1**2 + BRANIN_C * x1 - 6.0) ** 2
        + 10.0 * (1.0 - BRANIN_T) * jnp.cos(x1)
        + 10.0
    )
