// exp, tanh, sigmoid and erf written so that the compiler can vectorise a loop that calls them: std::exp,
// std::tanh and std::erf are library calls, which it cannot. Each is arithmetic on the number and on its bits,
// with no branches; where a formula needs a case split, both sides are computed and one is selected.
// The constants are Cephes' (S. Moshier's library) and W. J. Cody's, accurate to an ulp or a few.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace minitorch {

template <typename To, typename From>
inline To bits_as(From v) {
    To out;
    std::memcpy(&out, &v, sizeof(To));
    return out;
}

template <typename T>
struct UnsignedOf;  // the unsigned integer as wide as T
template <>
struct UnsignedOf<float> {
    using type = uint32_t;
};
template <>
struct UnsignedOf<double> {
    using type = uint64_t;
};

// `take ? c : v` as bit operations. Written as a ternary, GCC turns a clamp followed by arithmetic
// into branches over floating-point operations that may trap, and then declines to vectorise.
template <typename T>
inline T select(bool take, T c, T v) {
    using U = typename UnsignedOf<T>::type;
    const U mask = U(0) - U(take);
    return bits_as<T>((bits_as<U>(v) & ~mask) | (bits_as<U>(c) & mask));
}

// exp(x) in float32: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a degree-6 polynomial, then
// times 2^n, built in the exponent bits in two halves so that subnormal results come out right.
// Above 89 x is clamped to 89, which overflows to inf as it should. Below -104, where float32's
// exp rounds to 0 (the masked scores of causal attention are -inf), a select gives 0, and the
// arithmetic runs on a harmless 0 instead: a product that underflows costs the CPU a microcode
// assist, which made masked rows three times slower. nan compares false throughout and stays nan.
inline float exp_(float x) {
    constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const bool zero = x < -104.0f;
    const float xc = select(zero, 0.0f, select(x > 89.0f, 89.0f, x));
    const float big = xc * 1.44269504f + kRound;
    const float n = big - kRound;
    const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;  // ln2 in two parts: n * hi is exact
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t k = bits_as<int32_t>(big) - bits_as<int32_t>(kRound);  // n as an integer, in [-150, 128]
    const int32_t k1 = k / 2, k2 = k - k1;                                   // each in [-75, 64]: normal
    const float scaled = p * bits_as<float>(uint32_t(k1 + 127) << 23) * bits_as<float>(uint32_t(k2 + 127) << 23);
    return select(zero, 0.0f, scaled);
}

// float64 keeps the library's exp where the whole range matters (softmax).
inline double exp_(double x) { return std::exp(x); }

// exp(y) in float64 for |y| <= 708 only, where 2^n is a normal number (tanh_ needs 0 to 44, exp_neg_ below 0):
// y = n ln2 + r as above, and exp(r) = 1 + 2 r P(r²) / (Q(r²) - r P(r²)), a rational approximation.
inline double exp_normal_range(double y) {
    constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
    const double big = y * 1.4426950408889634 + kRound;
    const double n = big - kRound;
    const double r = (y - n * 6.93145751953125e-1) - n * 1.42860682030941723212e-6;
    const double rr = r * r;
    const double p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 1.0);
    const double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) *
                         rr +
                     2.0;
    const int64_t k = bits_as<int64_t>(big) - bits_as<int64_t>(kRound);  // n, in [-1022, 1022]
    return (1.0 + 2.0 * p / (q - p)) * bits_as<double>(uint64_t(k + 1023) << 52);
}

// tanh(x) = ±(1 - 2 / (e^2|x| + 1)), except near 0, where that difference would cancel to few
// correct digits and an odd polynomial (float32) or rational function (float64) of x takes over
// (|x| < 0.625). |x| is clamped where tanh rounds to 1 (10 in float32, 22 in float64), so e^2|x|
// stays finite; the sign of x is put back last, and nan stays nan.
inline float tanh_(float x) {
    const float a = std::fabs(x), s = x * x;
    const float near0 =
        ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s -
         3.33332819422e-1f) *
            s * a +
        a;
    const float far = 1.0f - 2.0f / (exp_(2.0f * select(a > 10.0f, 10.0f, a)) + 1.0f);
    return std::copysign(select(a < 0.625f, near0, far), x);
}

inline double tanh_(double x) {
    const double a = std::fabs(x), s = x * x;
    const double near0 = a + a * s * ((-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s -
                                      1.61468768441708447952e3) /
                                 (((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s +
                                  4.84406305325125486048e3);
    const double far = 1.0 - 2.0 / (exp_normal_range(2.0 * select(a > 22.0, 22.0, a)) + 1.0);
    return std::copysign(select(a < 0.625, near0, far), x);
}

// sigmoid(x) = 1 / (1 + e^-x) = (1 + tanh(x / 2)) / 2. Through tanh_, large |x| needs no care. The error
// is within an ulp of 1 in absolute terms, so far below 0 the relative error grows: in float32 the result
// is 0 below about -17, where the exact value is under 4e-8.
template <typename T>
inline T sigmoid_(T x) {
    return T(0.5) + T(0.5) * tanh_(T(0.5) * x);
}

// exp(-y) for y >= 0, inf and nan too. float32's exp_ takes any argument. In float64, exp_normal_range's steps
// hold for any argument whose 2^n is a normal number, down to -708; beyond, exp(-y) would be subnormal, and a
// select gives 0.
inline float exp_neg_(float y) { return exp_(-y); }

inline double exp_neg_(double y) {
    const bool zero = y > 708.0;
    return select(zero, 0.0, exp_normal_range(-select(zero, 0.0, y)));
}

// c[0] t^(N-1) + c[1] t^(N-2) + ... + c[N-1], by Horner's rule.
template <typename T, size_t N>
inline T polynomial_(T t, const T (&c)[N]) {
    T p = c[0];
    for (size_t i = 1; i < N; ++i) p = p * t + c[i];
    return p;
}

// erf(x) = ±(1 - erfc(|x|)), with erfc(a) = exp(-a²) times a function of a, except near 0, where that difference
// would cancel and an odd function of x takes over. |x| is clamped where erf rounds to 1 (4 in float32, 6 in
// float64), so the sign of x, put back last, gives ±1 at ±inf, and nan stays nan.
// float32, Cephes' erff: x P(x²) for |x| < 1, and erfc(a) = exp(-a²) / a * R(1/a²), R a polynomial for a < 2
// and another beyond.
inline float erf_(float x) {
    static constexpr float kNear0[] = {7.853861353153693e-5f,  -8.010193625184903e-4f, 5.188327685732524e-3f,
                                       -2.685381193529856e-2f, 1.128358514861418e-1f,  -3.761262582423300e-1f,
                                       1.28379165726710e-1f};  // P(s) - 1: x + x (P(s) - 1) rounds better
    static constexpr float kBelow2[] = {2.326819970068386e-2f,  -1.387039388740657e-1f, 3.687424674597105e-1f,
                                        -5.824733027278666e-1f, 6.210004621745983e-1f,  -4.944515323274145e-1f,
                                        3.404879937665872e-1f,  -2.741127028184656e-1f, 5.638259427386472e-1f};
    static constexpr float kFrom2[] = {-1.047766399936249e+1f, 1.297719955372516e+1f,  -7.495518717768503e+0f,
                                       2.921019019210786e+0f,  -1.015265279202700e+0f, 4.218463358204948e-1f,
                                       -2.820767439740514e-1f, 5.641895067754075e-1f};
    const float a = std::fabs(x);
    const float near0 = a + a * polynomial_(a * a, kNear0);
    const float b = select(a > 4.0f, 4.0f, a), q = 1.0f / b;
    const float r = select(b < 2.0f, polynomial_(q * q, kBelow2), polynomial_(q * q, kFrom2));
    return std::copysign(select(a < 1.0f, near0, 1.0f - exp_neg_(b * b) * q * r), x);
}

// float64, W. J. Cody's rational functions (Math. Comp. 1969; minitorch/backends/erf.py on arrays): x P(x²) / Q(x²)
// up to 0.46875, and erfc(a) = exp(-a²) P(a) / Q(a) up to 4, (1/sqrt(pi) - P(1/a²) / (a² Q(1/a²))) / a beyond.
// (Cody also splits a² to keep its rounding error out of exp(-a²), which erfc needs and erf does not: 1 - erfc
// shrinks that error with erfc.)
inline double erf_(double x) {
    static constexpr double kNear0P[] = {1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
                                         3.77485237685302021e02, 3.20937758913846947e03};
    static constexpr double kNear0Q[] = {1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
                                         2.84423683343917062e03};
    static constexpr double kMiddleP[] = {2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
                                          6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
                                          1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03};
    static constexpr double kMiddleQ[] = {1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                                          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                                          3.43936767414372164e03, 1.23033935480374942e03};
    static constexpr double kFarP[] = {1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
                                       1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4};
    static constexpr double kFarQ[] = {1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
                                       6.05183413124413191e-2, 2.33520497626869185e-3};
    const double a = std::fabs(x), s = a * a;
    const double near0 = a * polynomial_(s, kNear0P) / polynomial_(s, kNear0Q);
    const double b = select(a > 6.0, 6.0, a), u = 1.0 / (b * b);
    const double middle = polynomial_(b, kMiddleP) / polynomial_(b, kMiddleQ);
    const double far = (0.56418958354775628695 - u * polynomial_(u, kFarP) / polynomial_(u, kFarQ)) / b;
    const double erfc = exp_neg_(b * b) * select(b <= 4.0, middle, far);
    return std::copysign(select(a <= 0.46875, near0, (0.5 - erfc) + 0.5), x);
}

}  // namespace minitorch
