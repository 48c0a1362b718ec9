"""Objectives from data: losses against scikit-learn and closed forms, the minibatch
engine against an optax loop that reads the same rows, held-out metrics, bad input.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

pytest.importorskip("sklearn")
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402

import jaxcalc as jc  # noqa: E402
from jaxcalc.engine import program  # noqa: E402
from jaxcalc.objectives import data_objective  # noqa: E402


def params_at(f, seed=0, scale=0.3):
    return jax.tree.map(lambda a: a[0], f.starts(1, seed=seed, init="normal", scale=scale))


def test_logistic_regression_loss_is_sklearns_log_loss_plus_the_penalty(x64):
    f = data_objective("logistic_regression", "breast_cancer", l2=0.1)
    p = params_at(f)
    z = f.x_train @ p["w"] + p["b"]
    expected = log_loss(f.y_train, 1 / (1 + np.exp(-z))) + 0.05 * np.sum(p["w"] ** 2)
    assert float(f(p)) == pytest.approx(expected, rel=1e-10)


def test_softmax_regression_loss_is_sklearns_log_loss(x64):
    f = data_objective("softmax_regression", "iris")
    p = params_at(f)
    z = f.x_train @ p["w"] + p["b"]
    probs = np.exp(z - z.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    assert float(f(p)) == pytest.approx(log_loss(f.y_train, probs, labels=[0, 1, 2]), rel=1e-10)


def test_least_squares_reaches_numpys_lstsq_and_the_ridge_solution(x64):
    for l2 in (0.0, 0.5):
        f = data_objective("least_squares", "diabetes", l2=l2)
        t = jc.optimize(f, "bfgs", {"w": np.zeros(10), "b": np.zeros(())}, 200)
        assert t.status == "converged"
        n = f.n_train
        A = np.column_stack([f.x_train, np.ones(n)])
        if l2 == 0:
            solution = np.linalg.lstsq(A, f.y_train, rcond=None)[0]
        else:  # (A'A/n + l2 diag(1..1, 0)) x = A'y/n: the bias is not penalised
            solution = np.linalg.solve(
                A.T @ A / n + l2 * np.diag([1.0] * 10 + [0.0]), A.T @ f.y_train / n
            )
        np.testing.assert_allclose(t.final_params_tree["w"], solution[:10], atol=1e-7)
        assert float(t.final_params_tree["b"]) == pytest.approx(solution[10], abs=1e-7)


def test_full_batch_gd_follows_an_optax_loop(x64):
    f = data_objective("logistic_regression", "breast_cancer", l2=1e-3)
    x0 = f.starts(2, seed=4, init="normal", scale=0.1)
    t = jc.optimize(f, "sgd", x0, 30, learning_rate=0.5, gtol=0.0)
    for j in range(2):
        p = jax.tree.map(lambda a, j=j: jnp.asarray(a[j]), x0)
        opt = optax.sgd(0.5)
        state = opt.init(p)
        for _ in range(30):
            updates, state = opt.update(jax.grad(f)(p), state)
            p = optax.apply_updates(p, updates)
        np.testing.assert_allclose(t.final_params_tree["w"][j], p["w"], rtol=1e-11, atol=1e-13)
        assert t.final_values[j] == pytest.approx(float(f(p)), rel=1e-12)


def adam_lane(rate: float) -> int:
    """The documented identity of an adam run: CRC-32 of its name and numeric
    hyperparameters in name order, written out by hand here."""
    text = f"adam|b1=0.9;b2=0.999;eps=1e-08;eps_root=0.0;learning_rate={rate!r}"
    return zlib.crc32(text.encode())


def test_minibatch_steps_read_each_runs_rows_in_its_own_order_per_epoch(x64):
    f = data_objective(
        "softmax_regression", "synthetic_multiclass", rows=100, features=3, batch_size=16
    )
    assert f.minibatch.steps_per_epoch == 80 // 16
    x0 = f.starts(2, seed=1, init="normal", scale=0.1)
    steps = f.epoch_steps(3)
    t = jc.optimize(f, "adam", x0, steps, learning_rate=[0.05, 0.01], seed=7, record_every=5)
    X, y = f.x_train, f.y_train

    def loss(p, rows):
        z = X[rows] @ p["w"] + p["b"]
        return jnp.mean(jax.nn.logsumexp(z, -1) - z[jnp.arange(len(rows)), y[rows]])

    orders = {}
    for j in range(2):
        for i, rate in enumerate((0.05, 0.01)):
            # the documented data key of run (start j, lane):
            # fold_in(fold_in(fold_in(key(seed), j), 1), lane)
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(7), j), 1)
            key = jax.random.fold_in(key, adam_lane(rate))
            orders[i, j] = [
                np.asarray(jax.random.permutation(jax.random.fold_in(key, e), 80)) for e in range(3)
            ]
            p = jax.tree.map(lambda a, j=j: jnp.asarray(a[j]), x0)
            opt = optax.adam(rate)
            state = opt.init(p)
            for k in range(steps):
                epoch, b = divmod(k, 5)
                rows = orders[i, j][epoch][b * 16 : (b + 1) * 16]
                updates, state = opt.update(jax.grad(loss)(p, rows), state, p)
                p = optax.apply_updates(p, updates)
            np.testing.assert_allclose(
                t.final_params_tree["w"][i, j], p["w"], rtol=1e-10, atol=1e-12
            )
            # the recorded value is the full training loss, not a minibatch's
            assert t.values[i, j, -1] == pytest.approx(float(f(p)), rel=1e-10)
    # every run its own order: two starts, and two settings from one start
    assert not np.array_equal(orders[0, 0][0], orders[0, 1][0])
    assert not np.array_equal(orders[0, 0][0], orders[1, 0][0])


def test_a_runs_data_order_is_the_same_alone_in_a_sweep_and_beside_other_methods():
    f = data_objective("logistic_regression", "synthetic_binary", rows=90, features=3, batch_size=8)
    x0 = f.starts(3, seed=2, init="normal", scale=0.1)
    swept = jc.optimize(f, "sgd", x0, 25, learning_rate=[0.3, 0.1], seed=5, record_every=5)
    alone = jc.optimize(f, "sgd", x0, 25, learning_rate=0.1, seed=5, record_every=5)
    np.testing.assert_array_equal(swept.params[1], alone.params)
    np.testing.assert_array_equal(swept.values[1], alone.values)
    # the same rate twice in a sweep is the same run, with the same order
    twice = jc.optimize(f, "sgd", x0, 25, learning_rate=[0.1, 0.1], seed=5, record_every=5)
    np.testing.assert_array_equal(twice.params[0], twice.params[1])
    # stacked in one program after another method, a run keeps its identity
    from jaxcalc.engine import plan
    from jaxcalc.optimizers import get_optimizer

    starts = np.zeros((3, f.dim), np.float32)
    sgd = (get_optimizer("sgd"), {"learning_rate": 0.1})
    together = plan.lay_out([(get_optimizer("adam"), {"learning_rate": 0.01}), sgd], starts, 5)
    by_itself = plan.lay_out([sgd], starts, 5)
    np.testing.assert_array_equal(together.run_hyper["_lane"][3:], by_itself.run_hyper["_lane"])
    assert together.run_hyper["_lane"][0] != by_itself.run_hyper["_lane"][0]


def test_heldout_metrics_match_sklearn_at_the_recorded_points(x64):
    f = data_objective("mlp", "iris", hidden=(8,), activation="tanh", batch_size=30, heldout=0.3)
    t = jc.optimize(f, "adam", f.starts(3, seed=2), 40, learning_rate=0.05, record_every=20)
    assert set(t.recorded) == {"train_accuracy", "heldout_loss", "heldout_accuracy"}
    assert t.recorded["heldout_loss"].shape == (3, 3)
    tree = t.params_tree
    for j in range(3):
        for r in range(3):
            p = jax.tree.map(lambda a, j=j, r=r: a[j, r], tree)
            h = np.tanh(f.x_heldout @ p[0]["w"] + p[0]["b"])
            z = h @ p[1]["w"] + p[1]["b"]
            probs = np.exp(z - z.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            assert t.recorded["heldout_accuracy"][j, r] == pytest.approx(
                accuracy_score(f.y_heldout, z.argmax(1))
            )
            assert t.recorded["heldout_loss"][j, r] == pytest.approx(
                log_loss(f.y_heldout, probs, labels=[0, 1, 2]), rel=1e-9
            )


def test_split_and_standardisation_follow_the_conventions():
    f = data_objective("logistic_regression", "breast_cancer", split_seed=3)
    g = data_objective("logistic_regression", "breast_cancer", split_seed=4)
    assert f.n_train == g.n_train == 569 - round(0.2 * 569)
    np.testing.assert_allclose(f.x_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(f.x_train.std(0), 1, atol=1e-12)
    assert not np.allclose(f.x_train[:5], g.x_train[:5])
    assert abs(f.x_heldout.mean()) > 1e-6  # held-out rows use the training statistics


def test_a_lane_whose_loss_turns_nan_stops_alone(x32):
    # float32: a learning rate of 1e30 overflows the loss to inf (in float64 it stays finite)
    f = data_objective("least_squares", "diabetes", batch_size=32)
    x0 = {"w": np.zeros(10), "b": np.zeros(())}
    t = jc.optimize(f, "sgd", x0, 200, learning_rate=[0.01, 1e30])
    assert list(t.status) == ["max_steps", "diverged_nonfinite"]
    assert np.isfinite(t.values[0]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "logistic_regression", "dataset": "mnist"}, "unknown dataset 'mnist'"),
        ({"model": "logistic_regression", "dataset": "diabetes"}, "needs binary labels"),
        ({"model": "least_squares", "dataset": "iris"}, "needs regression labels"),
        ({"model": "svm", "dataset": "iris"}, "unknown model 'svm'"),
        ({"model": "mlp", "dataset": "iris", "batch_size": 500}, "batch_size: 500 is larger"),
        ({"model": "mlp", "dataset": "iris", "activation": "swish"}, "activation: unknown"),
        (
            {"model": "mlp", "dataset": (np.ones((4, 2)), np.array(["a", "b", "a", "b"]))},
            "labels must be numbers",
        ),
        ({"model": "mlp", "dataset": (np.ones((4, 2)), np.ones((4, 2)))}, "one column"),
    ],
)
def test_bad_input_names_the_key(kwargs, message):
    with pytest.raises(jc.ConfigError, match=message):
        data_objective(**kwargs)


def test_the_trajectory_table_names_the_held_out_numbers():
    f = data_objective("logistic_regression", "synthetic_binary", rows=60, features=2)
    t = jc.optimize(f, "adam", f.starts(2), 5, learning_rate=0.1)
    row = t.to_table()[1]
    assert row["final_heldout_accuracy"] == pytest.approx(t.recorded["heldout_accuracy"][1, -1])
    assert {"final_heldout_loss", "final_train_accuracy"} <= set(row)


def test_a_line_search_on_minibatches_tries_the_batch_of_its_gradient_counted_by_hand(x64):
    """gd_armijo on minibatches, replayed in a plain loop: each step backtracks on the
    batch its gradient came from; every evaluation counts one minibatch."""
    f = data_objective(
        "logistic_regression", "synthetic_binary", rows=50, features=2, batch_size=10
    )
    x0 = f.starts(2, seed=3, init="normal", scale=0.5)
    steps = 9  # two epochs and one step: a reshuffle inside the run
    t = jc.optimize(f, "gd_armijo", x0, steps, initial_step=40.0, seed=2)
    X, y = f.x_train, f.y_train

    def loss(p, rows):
        z = X[rows] @ p["w"] + p["b"]
        return float(np.mean(np.logaddexp(0, z) - y[rows] * z))

    def grad(p, rows):
        z = X[rows] @ p["w"] + p["b"]
        r = (1 / (1 + np.exp(-z)) - y[rows]) / len(rows)
        return {"w": X[rows].T @ r, "b": np.sum(r)}

    lane = zlib.crc32(b"gd_armijo|c1=0.0001;initial_step=40.0;shrink=0.5")
    for j in range(2):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(2), j), 1)
        key = jax.random.fold_in(key, lane)
        orders = [
            np.asarray(jax.random.permutation(jax.random.fold_in(key, e), 40)) for e in range(3)
        ]

        def batch(k, orders=orders):
            epoch, b = divmod(k, 4)
            return orders[epoch][b * 10 : (b + 1) * 10]

        p = {k: np.asarray(v[j], np.float64) for k, v in x0.items()}
        f_evals, trials_seen = 1, []  # the start: batch 0's loss and gradient
        for k in range(1, steps + 1):
            rows = batch(k - 1)
            value, g = loss(p, rows), grad(p, rows)
            slope = -(np.sum(g["w"] ** 2) + g["b"] ** 2)
            step, trials = 40.0, 1
            while True:
                trial = {n: p[n] - step * g[n] for n in p}
                if loss(trial, rows) <= value + 1e-4 * step * slope or trials == 30:
                    break
                step, trials = step * 0.5, trials + 1
            p = trial
            f_evals += trials + 1  # the trials, then the next batch at the new point
            trials_seen.append(trials)
        assert max(trials_seen) > 1  # the line search did backtrack
        assert t.function_evaluations[j] == f_evals
        assert t.gradient_evaluations[j] == 1 + steps
        np.testing.assert_allclose(t.final_params_tree["w"][j], p["w"], rtol=1e-10)


def test_a_model_of_many_numbers_follows_an_optax_loop_with_the_same_bits_alone(x64):
    # 310 numbers: the engine keeps such a model's runs axis first (RUNS_FIRST_DIM)
    f = data_objective("mlp", "digits", hidden=(4,), batch_size=256)
    assert f.template.size >= program.RUNS_FIRST_DIM
    x0 = f.starts(2, seed=3)
    steps = f.epoch_steps(2)
    # the third rate runs away at the first step; 34 runs, so padded to 64 lanes
    rates = [0.01, 0.003, 1e30, *np.geomspace(1e-4, 1e-2, 14)]
    t = jc.optimize(f, "adam", x0, steps, learning_rate=rates, record_every=5)
    X, y = jnp.asarray(f.x_train), jnp.asarray(f.y_train)

    def loss(p, rows):
        z = jax.nn.relu(X[rows] @ p[0]["w"] + p[0]["b"]) @ p[1]["w"] + p[1]["b"]
        return jnp.mean(jax.nn.logsumexp(z, -1) - z[jnp.arange(len(rows)), y[rows]])

    grad = jax.jit(jax.grad(loss))
    for j in range(2):
        for i, rate in enumerate(rates[:2]):
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), j), 1)
            key = jax.random.fold_in(key, adam_lane(rate))
            orders = [jax.random.permutation(jax.random.fold_in(key, e), f.n_train) for e in (0, 1)]
            p = jax.tree.map(lambda a, j=j: jnp.asarray(a[j]), x0)
            opt = optax.adam(rate)
            state = opt.init(p)
            for k in range(steps):
                epoch, b = divmod(k, f.minibatch.steps_per_epoch)
                rows = orders[epoch][b * 256 : (b + 1) * 256]
                updates, state = opt.update(grad(p, rows), state, p)
                p = optax.apply_updates(p, updates)
            for ours, theirs in zip(
                jax.tree.leaves(jax.tree.map(lambda a, i=i, j=j: a[i, j], t.final_params_tree)),
                jax.tree.leaves(p),
                strict=True,
            ):
                np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
            assert t.values[i, j, -1] == pytest.approx(float(f(p)), rel=1e-10)
    assert list(t.status[:2].ravel()) == ["max_steps"] * 4
    assert list(t.status[2]) == ["diverged"] * 2
    assert list(t.event_step[2]) == [1, 1]
    # the first rate's two runs alone (padded to 32 lanes) have the bits they had among 34
    alone = jc.optimize(f, "adam", x0, steps, learning_rate=rates[:1], record_every=5)
    for field in ("params", "values", "grad_norms", "final_params", "status", "event_step"):
        assert np.asarray(getattr(alone, field))[0, 0].tobytes() == (
            np.asarray(getattr(t, field))[0, 0].tobytes()
        ), field
    assert alone.recorded["heldout_loss"][0, 0].tobytes() == (
        t.recorded["heldout_loss"][0, 0].tobytes()
    )
