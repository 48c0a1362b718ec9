"""NIST Statistical Reference Datasets (StRD) with their certified values, embedded.

The data and certified values are those of NIST/ITL StRD (public domain, U.S. Government
work), https://www.itl.nist.gov/div898/strd/ : the linear least squares problems
``Longley`` and ``Wampler1`` (https://www.itl.nist.gov/div898/strd/lls/lls.shtml) and the
nonlinear regression problems ``Misra1a`` and ``Thurber``
(https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml). Numbers are copied from the
``.dat`` files as NIST prints them; nothing is downloaded at run time.

NIST certifies parameters and the residual sum of squares ``||y - model||^2`` to 11
significant digits for the nonlinear problems (computed in 128-bit arithmetic and checked
with several solvers) and to 15 digits for the linear ones.

References:
  * NIST StRD background pages: certification methods of the linear and nonlinear
    regression suites.
  * J. W. Longley (1967), "An appraisal of least squares programs for the electronic
    computer from the point of view of the user", J. American Statistical Association 62,
    819-841.
  * R. H. Wampler (1970), "A report on the accuracy of some widely used least squares
    computer programs", J. American Statistical Association 65, 549-565.
  * D. Misra (1978), Dental research monomolecular adsorption study, NIST.
  * R. Thurber (197?), Semiconductor electron mobility modeling, NIST.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LONGLEY",
    "MISRA1A",
    "THURBER",
    "WAMPLER1",
    "LinearDataset",
    "NonlinearDataset",
]

NIST_STRD = "NIST/ITL Statistical Reference Datasets (StRD), https://www.itl.nist.gov/div898/strd/"


@dataclass(frozen=True, eq=False)
class NonlinearDataset:
    """A NIST StRD nonlinear regression problem ``y ~ model(b, x)``.

    Attributes:
      name: NIST's dataset name.
      model: the model as NIST writes it.
      x, y: predictor and response, shape ``(n,)``.
      starts: NIST's two starting points, shape ``(2, p)`` (Start 1, Start 2).
      certified: certified parameters ``(p,)``.
      standard_deviations: certified standard deviations of the estimates ``(p,)``.
      residual_sum_of_squares: certified ``||y - model(b*, x)||^2``.
      residual_standard_deviation: certified ``sqrt(RSS / (n - p))``.
      difficulty: NIST's level of difficulty ("lower", "average", "higher").
      url: the dataset's page.
    """

    name: str
    model: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    starts: np.ndarray = field(repr=False)
    certified: np.ndarray = field(repr=False)
    standard_deviations: np.ndarray = field(repr=False)
    residual_sum_of_squares: float
    residual_standard_deviation: float
    difficulty: str
    url: str


@dataclass(frozen=True, eq=False)
class LinearDataset:
    """A NIST StRD linear least squares problem ``y ~ design(x) @ b``.

    Attributes:
      name: NIST's dataset name.
      model: the model as NIST writes it.
      design: the design matrix ``(n, p)`` (with the intercept column where the model has
        one).
      y: the response ``(n,)``.
      certified: certified parameters ``(p,)``.
      standard_deviations: certified standard deviations of the estimates ``(p,)``.
      residual_sum_of_squares: certified residual sum of squares.
      residual_standard_deviation: certified ``sqrt(RSS / (n - p))``.
      difficulty: NIST's level of difficulty.
      url: the dataset's page.
    """

    name: str
    model: str
    design: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    certified: np.ndarray = field(repr=False)
    standard_deviations: np.ndarray = field(repr=False)
    residual_sum_of_squares: float
    residual_standard_deviation: float
    difficulty: str
    url: str


def _columns(text: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split()] for line in text.strip().splitlines()])


# -------------------------------------------------------------------------------------------
# Nonlinear regression

_MISRA1A = _columns(
    """
    10.07E0      77.6E0
    14.73E0     114.9E0
    17.94E0     141.1E0
    23.93E0     190.8E0
    29.61E0     239.9E0
    35.18E0     289.0E0
    40.02E0     332.8E0
    44.82E0     378.4E0
    50.76E0     434.8E0
    55.05E0     477.3E0
    61.01E0     536.8E0
    66.40E0     593.1E0
    75.47E0     689.1E0
    81.78E0     760.0E0
    """
)

MISRA1A = NonlinearDataset(
    name="Misra1a",
    model="y = b1*(1-exp[-b2*x])",
    x=_MISRA1A[:, 1],
    y=_MISRA1A[:, 0],
    starts=np.array([[500.0, 0.0001], [250.0, 0.0005]]),
    certified=np.array([2.3894212918e02, 5.5015643181e-04]),
    standard_deviations=np.array([2.7070075241e00, 7.2668688436e-06]),
    residual_sum_of_squares=1.2455138894e-01,
    residual_standard_deviation=1.0187876330e-01,
    difficulty="lower",
    url="https://www.itl.nist.gov/div898/strd/nls/data/misra1a.shtml",
)

_THURBER = _columns(
    """
      80.574E0      -3.067E0
      84.248E0      -2.981E0
      87.264E0      -2.921E0
      87.195E0      -2.912E0
      89.076E0      -2.840E0
      89.608E0      -2.797E0
      89.868E0      -2.702E0
      90.101E0      -2.699E0
      92.405E0      -2.633E0
      95.854E0      -2.481E0
     100.696E0      -2.363E0
     101.060E0      -2.322E0
     401.672E0      -1.501E0
     390.724E0      -1.460E0
     567.534E0      -1.274E0
     635.316E0      -1.212E0
     733.054E0      -1.100E0
     759.087E0      -1.046E0
     894.206E0      -0.915E0
     990.785E0      -0.714E0
    1090.109E0      -0.566E0
    1080.914E0      -0.545E0
    1122.643E0      -0.400E0
    1178.351E0      -0.309E0
    1260.531E0      -0.109E0
    1273.514E0      -0.103E0
    1288.339E0       0.010E0
    1327.543E0       0.119E0
    1353.863E0       0.377E0
    1414.509E0       0.790E0
    1425.208E0       0.963E0
    1421.384E0       1.006E0
    1442.962E0       1.115E0
    1464.350E0       1.572E0
    1468.705E0       1.841E0
    1447.894E0       2.047E0
    1457.628E0       2.200E0
    """
)

THURBER = NonlinearDataset(
    name="Thurber",
    model="y = (b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)",
    x=_THURBER[:, 1],
    y=_THURBER[:, 0],
    starts=np.array(
        [
            [1000.0, 1000.0, 400.0, 40.0, 0.7, 0.3, 0.03],
            [1300.0, 1500.0, 500.0, 75.0, 1.0, 0.4, 0.05],
        ]
    ),
    certified=np.array(
        [
            1.2881396800e03,
            1.4910792535e03,
            5.8323836877e02,
            7.5416644291e01,
            9.6629502864e-01,
            3.9797285797e-01,
            4.9727297349e-02,
        ]
    ),
    standard_deviations=np.array(
        [
            4.6647963344e00,
            3.9571156086e01,
            2.8698696102e01,
            5.5675370270e00,
            3.1333340687e-02,
            1.4984928198e-02,
            6.5842344623e-03,
        ]
    ),
    residual_sum_of_squares=5.6427082397e03,
    residual_standard_deviation=1.3714600784e01,
    difficulty="higher",
    url="https://www.itl.nist.gov/div898/strd/nls/data/thurber.shtml",
)

# -------------------------------------------------------------------------------------------
# Linear least squares

# y, then x1 (GNP deflator), x2 (GNP), x3 (unemployed), x4 (armed forces), x5 (population),
# x6 (year), 1947-1962
_LONGLEY = _columns(
    """
    60323   83.0   234289   2356   1590   107608   1947
    61122   88.5   259426   2325   1456   108632   1948
    60171   88.2   258054   3682   1616   109773   1949
    61187   89.5   284599   3351   1650   110929   1950
    63221   96.2   328975   2099   3099   112075   1951
    63639   98.1   346999   1932   3594   113270   1952
    64989   99.0   365385   1870   3547   115094   1953
    63761  100.0   363112   3578   3350   116219   1954
    66019  101.2   397469   2904   3048   117388   1955
    67857  104.6   419180   2822   2857   118734   1956
    68169  108.4   442769   2936   2798   120445   1957
    66513  110.8   444546   4681   2637   121950   1958
    68655  112.6   482704   3813   2552   123366   1959
    69564  114.2   502601   3931   2514   125368   1960
    69331  115.7   518173   4806   2572   127852   1961
    70551  116.9   554894   4007   2827   130081   1962
    """
)

LONGLEY = LinearDataset(
    name="Longley",
    model="y = b0 + b1*x1 + b2*x2 + b3*x3 + b4*x4 + b5*x5 + b6*x6",
    design=np.column_stack([np.ones(16), _LONGLEY[:, 1:]]),
    y=_LONGLEY[:, 0],
    certified=np.array(
        [
            -3482258.63459582,
            15.0618722713733,
            -0.358191792925910e-01,
            -2.02022980381683,
            -1.03322686717359,
            -0.511041056535807e-01,
            1829.15146461355,
        ]
    ),
    standard_deviations=np.array(
        [
            890420.383607373,
            84.9149257747669,
            0.334910077722432e-01,
            0.488399681651699,
            0.214274163161675,
            0.226073200069370,
            455.478499142212,
        ]
    ),
    residual_sum_of_squares=836424.055505915,
    residual_standard_deviation=304.854073561965,
    difficulty="higher",
    url="https://www.itl.nist.gov/div898/strd/lls/data/Longley.shtml",
)

# Wampler1: y = 1 + x + x^2 + x^3 + x^4 + x^5 exactly, for x = 0, 1, ..., 20 (NIST lists the
# 21 integer responses, which this formula reproduces exactly); every certified
# coefficient is 1 and the residuals are exactly 0.
_WAMPLER_X = np.arange(21.0)

WAMPLER1 = LinearDataset(
    name="Wampler1",
    model="y = b0 + b1*x + b2*x**2 + b3*x**3 + b4*x**4 + b5*x**5",
    design=np.vander(_WAMPLER_X, 6, increasing=True),
    y=np.vander(_WAMPLER_X, 6, increasing=True).sum(axis=1),
    certified=np.ones(6),
    standard_deviations=np.zeros(6),
    residual_sum_of_squares=0.0,
    residual_standard_deviation=0.0,
    difficulty="average",
    url="https://www.itl.nist.gov/div898/strd/lls/data/Wampler1.shtml",
)
