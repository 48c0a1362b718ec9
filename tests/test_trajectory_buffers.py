"""Record buffers are reused across calls, but never under a result someone still holds."""

import numpy as np

from jaxcalc import optimize
from jaxcalc.objectives import Objective


def test_kept_trajectory_is_not_overwritten_by_the_next_call():
    quad = Objective("quad", 2, lambda x: (x[0] - 1) ** 2 + 3 * (x[1] + 2) ** 2, bounds=[-5, 5])
    x0 = np.random.default_rng(0).uniform(-5, 5, (64, 2))
    first = optimize(quad, "adam", x0, 50, learning_rate=0.1)
    snapshot = {k: np.array(v, copy=True) for k, v in first.to_numpy().items()}
    second = optimize(quad, "adam", x0[::-1].copy(), 50, learning_rate=0.3)  # same program
    third = optimize(quad, "adam", x0, 50, learning_rate=0.1)
    for name, value in first.to_numpy().items():
        np.testing.assert_array_equal(value, snapshot[name], err_msg=name)
    np.testing.assert_array_equal(third.params, snapshot["params"])  # deterministic
    assert not np.array_equal(second.params, snapshot["params"])
