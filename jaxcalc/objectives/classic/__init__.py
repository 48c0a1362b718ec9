"""Classic test functions for global optimisation, with their published minima.

Definitions, search domains and minima follow the Surjanovic & Bingham *Virtual Library of
Simulation Experiments* (https://www.sfu.ca/~ssurjano/, "SB" below) and Jamil & Yang (2013),
"A literature survey of benchmark functions for global optimisation problems",
Int. J. Mathematical Modelling and Numerical Optimisation 4(2), 150-194 ("J&Y" below, with the
paper's function number, 1-175; the numbers were checked against its alphabetical order
and against third-party lists that quote them, not against the PDF itself).

Minimisers are exact in float64 where a closed form exists. Where the references only print
rounded values, the minimiser was refined once, offline, by solving grad f = 0 with mpmath at
40 digits from the published point and rounding to float64 (the published rounded value is
kept next to it in a comment); the minimum is then f at that point. The search domain is part
of these benchmark problems: several of them (schwefel, eggholder, holder_table,
cross_in_tray, mccormick) are unbounded below on R^d, and their published minimum, like the
``f_opt`` here, is the minimum over the search box (``unbounded`` stays False; the
description says so).

Every function is pure ``jax.numpy`` on one point of shape ``(dim,)``, follows the dtype of
its input (float32 or float64) and is differentiable with ``jax.grad`` wherever it is smooth;
``differentiable=False`` marks the functions with kinks (``abs``, the norm in Ackley).
"""

from jaxcalc.objectives.classic.minima import MICHALEWICZ_PUBLISHED
from jaxcalc.objectives.classic.specs import SPECS

__all__ = ["MICHALEWICZ_PUBLISHED", "SPECS"]
