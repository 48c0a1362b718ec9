"""One compiled program for a family of objectives (the objective chosen by a scalar index,
:mod:`jaxcalc.engine.family`) against one program per objective: compile and run CPU
seconds, and whether the outputs are the same bytes.

Objectives: the grid's ten classic 2-D functions (configs/grid_benchmark.toml), then BBOB
f1.. in 2-D, the first K of them. Two method kinds as the grid has them: its seven optax
methods stacked in one program, and L-BFGS; and the curvature check. Every objective's
own program is compiled once (its compile CPU seconds measured alone, so the rows for K
objectives sum the first K); the family's program once per K. Run: each objective's runs
through its own program and through the family's program of the largest K, both from
the same inputs, interleaved, ``--repeats`` times (medians); every output (records,
statuses, counts, final points and values, checked statuses) compared byte for byte.

Usage (one XLA thread on one core for steadier CPU numbers):
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 1 \\
        python benchmarks/objective_family.py [--counts 5 10 20] [--dtype float64]
    python benchmarks/objective_family.py --own-in-switch ...  # own programs through a switch
    python benchmarks/objective_family.py --evaluations --counts 10 --dtype float64
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import sys

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here
if "--dtype" in sys.argv and sys.argv[sys.argv.index("--dtype") + 1] == "float64":
    jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxcalc.engine import cache, curvature, plan  # noqa: E402
from jaxcalc.engine import run as engine  # noqa: E402
from jaxcalc.engine.family import Family, family_check, family_inputs, family_job  # noqa: E402
from jaxcalc.engine.options import (  # noqa: E402
    limits_for,
    resolve_methods,
    resolve_objective,
    resolve_tree_starts,
)
from jaxcalc.objectives import get  # noqa: E402

STACKED = [
    ("sgd", {"learning_rate": 0.001}),
    ("adam", {"learning_rate": 0.01}),
    ("adamw", {"learning_rate": 0.01}),
    ("nadam", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("adagrad", {"learning_rate": 0.1}),
    ("yogi", {"learning_rate": 0.01}),
]
LBFGS = [("lbfgs", {})]
CLASSIC = [
    ("rosenbrock", 2),
    ("booth", None),
    ("beale", None),
    ("himmelblau", None),
    ("matyas", None),
    ("three_hump_camel", None),
    ("six_hump_camel", None),
    ("rastrigin", 2),
    ("ackley", 2),
    ("styblinski_tang", 2),
]
EVERY = 10


def cpu() -> float:
    """This process's CPU seconds (user + system, every thread)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def objectives(count: int) -> list:
    names = [get(n, dim=d) if d else get(n) for n, d in CLASSIC]
    names += [get(f"bbob_f{i}", dim=2) for i in range(1, count - len(CLASSIC) + 1)]
    return names[:count]


def own_job(objective, methods, x0, steps):
    """The job ``optimize_many`` plans for one objective (its own program)."""
    entries = resolve_methods(methods)
    fun, name, dim = resolve_objective(objective)
    fun, starts, _, _ = resolve_tree_starts(fun, x0, name, dim)
    limits = limits_for(starts.dtype, None, None, None, 5, getattr(fun, "floor", None))
    layout = plan.lay_out(entries, starts, 0)
    return engine._job(objective, fun, layout, limits, steps, EVERY, True, None, None, 1)


def buffer_shape(job):
    shape = job.program.record_buffer_shape(job.chunks.padded, job.dim)
    return jax.ShapeDtypeStruct(shape, job.dtype)


def compile_own(job):
    x, h, s = job.inputs(*job.chunks.bounds[0])
    t0 = cpu()
    lowered = jax.jit(job.batch, donate_argnums=3).lower(x, h, s, buffer_shape(job))
    compiled = cache.compile_program(lowered, job.quick_compile)
    return compiled, cpu() - t0


def compile_family(fjob, own, index=0):
    x, h, s = family_inputs(own, index, *own.chunks.bounds[0])
    t0 = cpu()
    lowered = jax.jit(fjob.batch, donate_argnums=3).lower(x, h, s, buffer_shape(fjob))
    compiled = cache.compile_program(lowered, fjob.quick_compile)
    return compiled, cpu() - t0


def check_shape(job):
    return engine._check_shape(job.chunks.padded, job.dim, 1)


def run_once(compiled, check, job, inputs, index=None):
    """The outputs of one call and its checked statuses (every run checked), CPU seconds."""
    x, h, s = inputs
    buffer = job.program.record_buffer(job.chunks.padded, job.dim, job.dtype)
    t0 = cpu()
    out = jax.block_until_ready(compiled(x, h, s, buffer))
    rows = check_shape(job)[0]
    params = np.asarray(out["final_params"])
    status = np.asarray(out["status"])
    checked = []
    for lo in range(0, params.shape[0], rows):
        p, st = params[lo : lo + rows], status[lo : lo + rows]
        pad = rows - p.shape[0]
        if pad:
            p = np.concatenate([p, np.repeat(p[-1:], pad, 0)])
            st = np.concatenate([st, np.repeat(st[-1:], pad)])
        args = (p, st) if index is None else (p, st, np.int32(index))
        checked.append(np.asarray(check(*args))[: rows - pad])
    out = {k: np.asarray(v) for k, v in out.items()}
    out["checked_status"] = np.concatenate(checked)
    return out, cpu() - t0


def ulp_gap(a: np.ndarray, b: np.ndarray) -> int:
    """The largest distance in units in the last place between finite entries."""
    if a.dtype.kind != "f":
        return 0
    ints = {4: np.int32, 8: np.int64}[a.itemsize]
    ia, ib = a.view(ints).astype(np.int64), b.view(ints).astype(np.int64)
    ia = np.where(ia < 0, np.iinfo(ints).min - ia, ia)
    ib = np.where(ib < 0, np.iinfo(ints).min - ib, ib)
    both = np.isfinite(a) & np.isfinite(b)
    return int(np.max(np.abs(ia - ib)[both], initial=0))


def compare(own: dict, fam: dict) -> tuple[list[str], list[str], int]:
    """Outputs that differ in any byte, those (exact ones: statuses, counts) that differ at
    all, and the largest ulp gap of the float outputs."""
    differ, exact_differ, gap = [], [], 0
    for k in own:
        if own[k].tobytes() != fam[k].tobytes():
            differ.append(k)
            if own[k].dtype.kind != "f":
                exact_differ.append(k)
            gap = max(gap, ulp_gap(own[k], fam[k]))
    return differ, exact_differ, gap


def evaluations(objs: list, dtype) -> None:
    """f and its gradient (``vjp`` of the mapped objective, as the engine takes them) at
    5000 points: how many differ in any bit between the objective inline and in the
    family's switch, and between a family of two (it and a sphere) and the whole family."""
    points = np.random.default_rng(0).uniform(-4, 4, (2, 5000)).astype(dtype)
    family = Family(tuple(objs))

    def evaluate(fun):
        if isinstance(fun, Family):  # the family's objective of index k
            return lambda x, k: evaluate(fun.select(k))(x)

        def both(x):
            value, pullback = jax.vjp(jax.vmap(fun, in_axes=-1), x)
            return value, pullback(jnp.ones_like(value))[0]

        return both

    def compiled(fun, *args):
        return cache.compile_program(jax.jit(fun).lower(*args), False)(*args)

    def differ(a, b):
        return "/".join(
            str(int(np.sum(np.asarray(u) != np.asarray(v)))) for u, v in zip(a, b, strict=True)
        )

    print(f"\n## evaluations differing (f/gradient, of 5000 points), {np.dtype(dtype).name}")
    print("| objective | inline vs in the family | family of two vs the family |")
    print("|---|---|---|")
    for i, o in enumerate(objs):
        pair = Family((o, get("sphere", dim=o.dim)))
        inline = compiled(evaluate(o), points)
        whole = compiled(evaluate(family), points, jnp.int32(i))
        two = compiled(evaluate(pair), points, jnp.int32(0))
        print(f"| {o.name} | {differ(inline, whole)} | {differ(two, whole)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--starts", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=["stacked", "lbfgs"])
    parser.add_argument(
        "--evaluations", action="store_true", help="only compare the objectives' evaluations"
    )
    parser.add_argument(
        "--own-in-switch",
        action="store_true",
        help="each objective's own program evaluates it through a switch (it and a sphere)",
    )
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    top = max(args.counts)
    objs = objectives(top)
    starts = [
        np.asarray(o.sample(jax.random.key(i), args.starts, dtype)) for i, o in enumerate(objs)
    ]
    print(
        f"# {datetime.date.today()}, jax {jax.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; {args.starts} starts x "
        f"{args.steps} steps per objective, {args.dtype}; process CPU seconds"
    )
    if args.evaluations:
        evaluations(objs, dtype)
        return
    for kind in args.kinds:
        methods = STACKED if kind == "stacked" else LBFGS
        jobs = [own_job(o, methods, x0, args.steps) for o, x0 in zip(objs, starts, strict=True)]
        assert all(len(j.chunks.bounds) == 1 for j in jobs), "one chunk per job expected"
        own, own_compile, own_check = [], [], []
        for job in jobs:  # every objective's own program and check, compile timed alone
            if args.own_in_switch:  # a family of the objective and a sphere, index 0
                pair = Family((job.fun, get("sphere", dim=job.dim)))
                compiled, seconds = compile_family(family_job([job], pair), job)
                t0 = cpu()
                check = family_check(pair, check_shape(job), job.dtype)
            else:
                compiled, seconds = compile_own(job)
                t0 = cpu()
                check = curvature.curvature_program(job.fun, check_shape(job), job.dtype, None)
            own_check.append(cpu() - t0)
            own.append((compiled, check))
            own_compile.append(seconds)
        fams = {}
        print(f"\n## {kind}: compile CPU s")
        print("| K | own programs | one family program | own checks | one family check |")
        print("|---|---|---|---|---|")
        for k in args.counts:
            family = Family(tuple(objs[:k]))
            fjob = family_job(jobs[:k], family)
            compiled, seconds = compile_family(fjob, jobs[0])
            t0 = cpu()
            check = family_check(family, check_shape(jobs[0]), jobs[0].dtype)
            check_seconds = cpu() - t0
            fams[k] = (fjob, compiled, check)
            print(
                f"| {k} | {sum(own_compile[:k]):.1f} | {seconds:.1f} | "
                f"{sum(own_check[:k]):.1f} | {check_seconds:.1f} |",
                flush=True,
            )
        fjob, fcompiled, fcheck = fams[top]
        print(f"\n## {kind}: run CPU s (median of {args.repeats}) and bits, family of {top}")
        header = ["objective", "own run", "family run", "outputs differing"]
        print("| " + " | ".join([*header, "statuses/counts differing", "max ulp"]) + " |")
        print("|---|---|---|---|---|---|")
        totals = [0.0, 0.0]
        for i, job in enumerate(jobs):
            inputs = job.inputs(*job.chunks.bounds[0])
            finputs = family_inputs(job, i, *job.chunks.bounds[0])
            own_t, fam_t = [], []
            if args.own_in_switch:
                inputs = family_inputs(job, 0, *job.chunks.bounds[0])
            for _ in range(args.repeats):
                out_own, t = run_once(*own[i], job, inputs, 0 if args.own_in_switch else None)
                own_t.append(t)
                out_fam, t = run_once(fcompiled, fcheck, fjob, finputs, i)
                fam_t.append(t)
            differ, exact_differ, gap = compare(out_own, out_fam)
            a, b = float(np.median(own_t)), float(np.median(fam_t))
            totals[0] += a
            totals[1] += b
            print(
                f"| {objs[i].name} | {a:.2f} | {b:.2f} | {','.join(differ) or 'none'} | "
                f"{','.join(exact_differ) or 'none'} | {gap} |",
                flush=True,
            )
        print(f"| all | {totals[0]:.2f} | {totals[1]:.2f} | | | |")


if __name__ == "__main__":
    main()
