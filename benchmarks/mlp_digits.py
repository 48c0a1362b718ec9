"""Minibatch training of many MLPs at once: jaxcalc against a hand-written JAX program and
a Python loop over optax.

Run from the repository root::

    python benchmarks/mlp_digits.py            # 1,000 lanes (100 seeds x 10 learning rates)
    python benchmarks/mlp_digits.py --quick    # 32 lanes, a smoke run
    python benchmarks/mlp_digits.py --seeds 32 --rates 4 --loop-lanes 1   # 128 lanes

The task: a 2-layer MLP (64 inputs, 64 ReLU hidden units, 10 outputs; 4,810 parameters) on
scikit-learn's digits (1,438 training rows after the held-out fifth), Adam, minibatches of
64 (22 steps per epoch), 10 epochs = 220 steps, float32. Every lane (a start drawn with
Glorot uniform, and a learning rate) reads the training rows in its own order per epoch.

Three peers run the same lanes in the same process:

1. ``jaxcalc``: ``optimize(data_objective("mlp", "digits", batch_size=64), "adam", x0, 220,
   learning_rate=[10 values], record_every=220)``; it also records the full training loss,
   the held-out loss and both accuracies at the start and the end.
2. ``hand-written``: ``jit(vmap(train))`` where ``train`` is a ``lax.scan`` over epochs of a
   ``lax.scan`` over minibatches with ``optax.adam``, the loss written out by hand, the
   same orders of the rows (the same per-lane keys as the engine's: a lane's seed, start
   and identity, the CRC-32 of its method and hyperparameters), the final full training
   loss only.
   At the start and the end it computes what jaxcalc records there: the full training
   loss and its gradient's norm, both accuracies and the held-out loss.
   It runs twice: compiled with XLA's defaults, and with the options jaxcalc compiles
   with (``jaxcalc.engine.cache.DETERMINISTIC_CPU_OPTIONS``), so the two rows tell what
   bit-reproducibility costs this program apart from what the engine does.
3. ``python loop``: for each lane, a Python loop over steps calling a jitted
   ``value_and_grad`` and optax's update: timed on a subset of lanes and extrapolated to
   all lanes (marked ``*``).

Timing: compile apart from run (jaxcalc reports its own; the hand-written program is
lowered and compiled explicitly); the run is the median of ``--repeats`` runs after the
compile, in wall time and in the process's CPU time. The two compiled peers run in turns
(jaxcalc, hand-written, hand-written with jaxcalc's options, and again), so that a shared
machine whose speed drifts slows them alike. Memory: the process's peak resident set
size (``ru_maxrss``, monotone): after jaxcalc's first call for its row, at the end for
the others; and jaxcalc's own estimate of its outputs.
The final losses of jaxcalc and the hand-written program are compared lane by lane, and
set beside how far the hand-written program's own final losses move when every start is
moved by one ulp (float32 rounding amplified by training).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import time
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxcalc as jc
from jaxcalc.engine.cache import DETERMINISTIC_CPU_OPTIONS
from jaxcalc.objectives import data_objective

EPOCHS = 10
BATCH = 64


def lane_id(lr: float) -> int:
    """The engine's identity of an adam lane (``jaxcalc.engine.plan.lane_ids``), from which
    its minibatch order is drawn: the CRC-32 of the method's name and numeric
    hyperparameters in name order."""
    text = f"adam|b1=0.9;b2=0.999;eps=1e-08;eps_root=0.0;learning_rate={float(lr)!r}"
    return zlib.crc32(text.encode())


def order_key(seed, start, lane):
    """A lane's data key, as the engine draws it:
    ``fold_in(fold_in(fold_in(key(seed), start), 1), lane)``."""
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), start), 1)
    return jax.random.fold_in(key, lane)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hand_loss(params, X, y):
    (l1, l2) = params
    h = jax.nn.relu(X @ l1["w"] + l1["b"])
    logits = h @ l2["w"] + l2["b"]
    return jnp.mean(
        jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], -1)[:, 0]
    )


def accuracy(params, X, y):
    (l1, l2) = params
    logits = jax.nn.relu(X @ l1["w"] + l1["b"]) @ l2["w"] + l2["b"]
    return jnp.mean(jnp.argmax(logits, -1) == y)


def hand_written(objective):
    X = jnp.asarray(objective.x_train, jnp.float32)
    y = jnp.asarray(objective.y_train, jnp.int32)
    Xh = jnp.asarray(objective.x_heldout, jnp.float32)
    yh = jnp.asarray(objective.y_heldout, jnp.int32)
    n = X.shape[0]
    per_epoch = n // BATCH

    def train(params, lr, seed, start, lane):
        key = order_key(seed, start, lane)
        opt = optax.adam(lr)

        def epoch(carry, e):
            perm = jax.random.permutation(jax.random.fold_in(key, e), n)

            def step(carry, b):
                p, s = carry
                rows = jax.lax.dynamic_slice_in_dim(perm, b * BATCH, BATCH)
                g = jax.grad(hand_loss)(p, X[rows], y[rows])
                u, s = opt.update(g, s, p)
                return (optax.apply_updates(p, u), s), None

            carry, _ = jax.lax.scan(step, carry, jnp.arange(per_epoch))
            return carry, None

        first = report(params)
        (p, _), _ = jax.lax.scan(epoch, (params, opt.init(params)), jnp.arange(EPOCHS))
        return first, report(p)

    def report(p):  # what jaxcalc records at the start and the end
        loss, g = jax.value_and_grad(hand_loss)(p, X, y)
        norm = jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(g)))
        return loss, norm, accuracy(p, X, y), hand_loss(p, Xh, yh), accuracy(p, Xh, yh)

    return jax.jit(jax.vmap(train))


def python_loop(objective, params, lr, start, seed):
    X = jnp.asarray(objective.x_train, jnp.float32)
    y = jnp.asarray(objective.y_train, jnp.int32)
    n = X.shape[0]
    opt = optax.adam(lr)
    state = opt.init(params)
    key = order_key(seed, start, lane_id(lr))
    for e in range(EPOCHS):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(key, e), n))
        for b in range(n // BATCH):
            rows = perm[b * BATCH : (b + 1) * BATCH]
            g = GRAD(params, X[rows], y[rows])
            updates, state = UPDATE(opt)(g, state, params)
            params = optax.apply_updates(params, updates)
    return float(hand_loss(params, X, y))


GRAD = jax.jit(jax.grad(hand_loss))
_UPDATES: dict = {}


def UPDATE(opt):  # noqa: N802 - one jitted update per optimizer object
    if id(opt) not in _UPDATES:
        _UPDATES.clear()
        _UPDATES[id(opt)] = jax.jit(opt.update)
    return _UPDATES[id(opt)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-lanes", type=int, default=4)
    parser.add_argument("--seeds", type=int, help="starts per learning rate (default 100)")
    parser.add_argument("--rates", type=int, help="learning rates, 3e-4 to 3e-2 (default 10)")
    args = parser.parse_args()
    seeds = args.seeds or (16 if args.quick else 100)
    rates = np.geomspace(3e-4, 3e-2, args.rates or (2 if args.quick else 10)).tolist()
    lanes = seeds * len(rates)
    objective = data_objective("mlp", "digits", batch_size=BATCH, hidden=(64,))
    steps = objective.epoch_steps(EPOCHS)
    x0 = objective.starts(seeds, seed=0, init="glorot_uniform")
    print(
        f"mlp_digits: {lanes} lanes ({seeds} seeds x {len(rates)} learning rates), "
        f"{steps} steps of batch {BATCH}, D={objective.template.size}; jax {jax.__version__}, "
        f"optax {optax.__version__}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"load {os.getloadavg()[0]:.1f}, {datetime.date.today()}"
    )
    rows = []

    # 1. jaxcalc, 2. the hand-written jit(vmap(scan)) with XLA's defaults and with the
    # options jaxcalc compiles with (bit-reproducible): each compiled, then run in turns
    # (jaxcalc, hand-written, hand-written with jaxcalc's options, and again), so that a
    # machine whose speed drifts during the run slows every peer alike
    first = jc.optimize(objective, "adam", x0, steps, learning_rate=rates, record_every=steps)
    compile_s = first.compile_seconds
    peak_ours = peak_mb()
    estimate = jc.engine.estimate(
        [("adam", {"learning_rate": rates})], seeds, steps, 4810, record_every=steps, check=False
    )
    lane_params = jax.tree.map(lambda a: np.tile(a, (len(rates),) + (1,) * (a.ndim - 1)), x0)
    lane_lr = np.repeat(np.asarray(rates, np.float32), seeds)
    lane_start = np.tile(np.arange(seeds), len(rates)).astype(np.uint32)
    lane_seed = np.zeros(lanes, np.uint32)
    lane_ids = np.repeat([lane_id(lr) for lr in rates], seeds).astype(np.uint32)
    inputs = (lane_params, lane_lr, lane_seed, lane_start, lane_ids)
    fn = hand_written(objective)
    names = ("hand-written jit(vmap(scan))", "hand-written, jaxcalc's XLA options")
    hand, hand_compile = [], []
    for options in ({}, DETERMINISTIC_CPU_OPTIONS):
        t0 = time.perf_counter()
        hand.append(fn.lower(*inputs).compile(compiler_options=options))
        hand_compile.append(time.perf_counter() - t0)

    def run_ours():
        return jc.optimize(objective, "adam", x0, steps, learning_rate=rates, record_every=steps)

    peers = [run_ours, *(lambda c=c: jax.block_until_ready(c(*inputs)) for c in hand)]
    times = [[] for _ in peers]
    out = [None] * len(peers)
    for _ in range(args.repeats):
        for i, peer in enumerate(peers):
            t0, c0 = time.perf_counter(), time.process_time()
            out[i] = peer()
            times[i].append((time.perf_counter() - t0, time.process_time() - c0))
    runs = [first, out[0]]
    wall = [statistics.median(t for t, _ in row) for row in times]
    cpu = [statistics.median(c for _, c in row) for row in times]
    run_s, cpu_s = wall[0], cpu[0]
    rows.append(("jaxcalc", compile_s, run_s, cpu_s, peak_ours))
    for i, name in enumerate(names):
        rows.append((name, hand_compile[i], wall[i + 1], cpu[i + 1], peak_mb()))
    ours = out[0].final_values  # (rates, seeds)
    finals = [np.asarray(o[1][0]).reshape(len(rates), seeds) for o in out[1:]]
    theirs, compiled = out[2], hand[1]
    # how far float32 rounding alone moves the hand-written program's final losses: the
    # same program from starts one ulp away
    nudged = jax.tree.map(lambda a: np.nextafter(a, np.inf, dtype=np.float32), lane_params)
    moved = jax.block_until_ready(compiled(nudged, *inputs[1:]))
    moved = np.asarray(moved[1][0]).reshape(len(rates), seeds)
    heldout_gap = np.max(
        np.abs(
            runs[-1].recorded["heldout_loss"][..., -1]
            - np.asarray(theirs[1][3]).reshape(len(rates), seeds)
        )
    )
    theirs = np.asarray(theirs[1][0]).reshape(len(rates), seeds)

    # 3. Python loop over optax, on a subset of lanes, extrapolated
    subset = [(i % len(rates), i % seeds) for i in range(args.loop_lanes)]
    python_loop(objective, jax.tree.map(lambda a: jnp.asarray(a[0]), x0), rates[0], 0, 0)  # warm
    t0, c0 = time.perf_counter(), time.process_time()
    loop_losses = []
    for r, s in subset:
        params = jax.tree.map(lambda a, s=s: jnp.asarray(a[s]), x0)
        loop_losses.append(python_loop(objective, params, rates[r], s, 0))
    loop_s = (time.perf_counter() - t0) / len(subset) * lanes
    loop_cpu = (time.process_time() - c0) / len(subset) * lanes
    name = f"python loop over optax* ({len(subset)} lanes timed)"
    rows.append((name, float("nan"), loop_s, loop_cpu, peak_mb()))

    finite = np.isfinite(ours) & np.isfinite(theirs)
    gaps = np.abs(ours - theirs)[finite] / np.maximum(1.0, np.abs(theirs[finite]))
    gap = np.max(gaps)
    by_rate = np.max(np.where(finite, np.abs(ours - theirs), 0.0), axis=1)
    loop_gap = max(abs(loop_losses[i] - theirs[r, s]) for i, (r, s) in enumerate(subset))
    print()
    print(
        "| peer | compile (s) | run (s) | lane-steps/s | run ratio vs jaxcalc | run CPU (s) "
        "| CPU ratio vs jaxcalc | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, comp, run, cpu, mem in rows:
        print(
            f"| {name} | {comp:.2f} | {run:.2f} | {lanes * steps / run:,.0f} | "
            f"{run / run_s:.2f}x | {cpu:.2f} | {cpu / cpu_s:.2f}x | {mem:,.0f} |"
        )
    print()
    print(
        f"jaxcalc / hand-written speed: {rows[1][2] / run_s:.2f}x (goal >= 0.9x; with "
        f"jaxcalc's XLA options {rows[2][2] / run_s:.2f}x; in CPU time {rows[1][3] / cpu_s:.2f}x "
        f"and {rows[2][3] / cpu_s:.2f}x); jaxcalc / python loop: {loop_s / run_s:.1f}x "
        f"(goal >= 5x)"
    )
    print(f"jaxcalc's estimate of its outputs: {estimate.result_bytes / 1e6:.1f} MB")
    print(
        f"final training loss, jaxcalc vs hand-written: max rel. gap {gap:.2e} over "
        f"{finite.sum()} finite lanes; python loop vs hand-written: {loop_gap:.2e}"
    )
    print(
        f"  median rel. gap {np.median(gaps):.1e}; lanes within 1e-3: "
        f"{(gaps <= 1e-3).mean():.1%}; max gap per learning rate: "
        + ", ".join(f"{r:.1e}: {g:.1e}" for r, g in zip(rates, by_rate, strict=True))
    )
    print(f"final held-out loss, jaxcalc vs hand-written: max abs. gap {heldout_gap:.2e}")
    nudge_gap = np.max(np.where(np.isfinite(moved), np.abs(moved - theirs), 0.0), axis=1)
    options_gap = np.max(np.abs(finals[0] - finals[1]), axis=1, where=finite, initial=0.0)
    print(
        "float32 rounding alone, max gap per learning rate: hand-written with XLA's defaults "
        "against jaxcalc's options: "
        + ", ".join(f"{r:.1e}: {g:.1e}" for r, g in zip(rates, options_gap, strict=True))
        + "; against itself from starts one ulp away: "
        + ", ".join(f"{r:.1e}: {g:.1e}" for r, g in zip(rates, nudge_gap, strict=True))
    )
    print(f"statuses: {runs[-1].status_counts()}")


if __name__ == "__main__":
    main()
