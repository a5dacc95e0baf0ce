"""The error function on arrays, for any array module, and the normal distribution's constants.

NumPy has no erf, so ``erf_array`` evaluates W. J. Cody's rational
approximations (Math. Comp. 1969), accurate to float64 rounding, with array
operations only, so the same code runs on CuPy. ``minitorch.erf`` and the
exact GELU, ``x * Phi(x)`` with the normal CDF ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``,
are built on it; GELU's tanh approximation replaces Phi by
``(1 + tanh(GELU_BETA * (x + GELU_KAPPA * x³))) / 2``.
"""

from __future__ import annotations

from typing import Any

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969).
# Coefficients are in increasing order of use in the Horner loops below.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03)
_ERF_A_LAST = 1.85777706184603153e-1
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_ERFC_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
)
_ERFC_C_LAST = 2.15311535474403846e-8
_ERFC_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERFC_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_ERFC_P_LAST = 1.63153871373020978e-2
_ERFC_Q = (
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
INV_SQRT_PI = 0.56418958354775628695
SQRT1_2 = 0.70710678118654752440
INV_SQRT_2PI = INV_SQRT_PI * SQRT1_2  # the normal density at 0
GELU_BETA = 0.79788456080286535588  # sqrt(2 / pi), for GELU's tanh formula
GELU_KAPPA = 0.044715
_ERFC_ZERO_FROM = 26.543  # erfc(x) underflows to 0 in float64 beyond this


def _rational(t: Any, num: tuple, num_last: float, den: tuple) -> Any:
    """Cody's Horner scheme: P(t)/Q(t) with the leading coefficient of Q equal to 1
    (updated in place: no temporary arrays)."""
    xnum, xden = num_last * t, t.copy()
    for a, b in zip(num[:-1], den[:-1]):
        xnum += a
        xnum *= t
        xden += b
        xden *= t
    xnum += num[-1]
    xden += den[-1]
    xnum /= xden
    return xnum


def _erfc_scale(xp: Any, y: Any, r: Any) -> Any:
    """``exp(-y*y) * r``; y*y is split as ysq² + del with ysq = y rounded to 1/16, so the
    rounding error of y*y is not magnified by the exponential."""
    ysq = xp.trunc(y * 16) / 16
    return xp.exp(-ysq * ysq) * xp.exp(-(y - ysq) * (y + ysq)) * r


def erf_array(xp: Any, x: Any) -> Any:
    """erf(x) of an array: a rational function of x² for |x| <= 0.46875, else
    sign(x) * (1 - erfc(|x|)) with erfc = exp(-x²) times a rational function of |x|
    (up to 4) or of 1/x² (beyond)."""
    flat = x.reshape(-1)
    y = xp.abs(flat)
    out = xp.empty_like(flat)
    small = y <= 0.46875
    middle = (y > 0.46875) & (y <= 4.0)
    large = ~(small | middle)  # includes nan, which stays nan
    ys = y[small]
    out[small] = flat[small] * _rational(ys * ys, _ERF_A, _ERF_A_LAST, _ERF_B)
    ym = y[middle]
    erfc_m = _erfc_scale(xp, ym, _rational(ym, _ERFC_C, _ERFC_C_LAST, _ERFC_D))
    out[middle] = xp.copysign((0.5 - erfc_m) + 0.5, flat[middle])
    yl = xp.minimum(y[large], _ERFC_ZERO_FROM)
    inv_sq = 1 / (yl * yl)
    r = (INV_SQRT_PI - inv_sq * _rational(inv_sq, _ERFC_P, _ERFC_P_LAST, _ERFC_Q)) / yl
    out[large] = xp.copysign((0.5 - _erfc_scale(xp, yl, r)) + 0.5, flat[large])
    return out.reshape(x.shape)
