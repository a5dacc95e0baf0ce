// exp, tanh and sigmoid written so that the compiler can vectorise a loop that calls them: std::exp
// and std::tanh are library calls, which it cannot. Each is arithmetic on the number and on its bits,
// with no branches; where a formula needs a case split, both sides are computed and one is selected.
// The constants are Cephes' (S. Moshier's library), whose approximations are accurate to about 1 ulp.
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

// exp(y) in float64 for 0 <= y <= 44 only, the range tanh_ needs, so 2^n is always a normal number:
// y = n ln2 + r as above, and exp(r) = 1 + 2 r P(r²) / (Q(r²) - r P(r²)), a rational approximation.
inline double exp_small_range(double y) {
    constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
    const double big = y * 1.4426950408889634 + kRound;
    const double n = big - kRound;
    const double r = (y - n * 6.93145751953125e-1) - n * 1.42860682030941723212e-6;
    const double rr = r * r;
    const double p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 1.0);
    const double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) *
                         rr +
                     2.0;
    const int64_t k = bits_as<int64_t>(big) - bits_as<int64_t>(kRound);  // n, in [0, 64]
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
    const double far = 1.0 - 2.0 / (exp_small_range(2.0 * select(a > 22.0, 22.0, a)) + 1.0);
    return std::copysign(select(a < 0.625, near0, far), x);
}

// sigmoid(x) = 1 / (1 + e^-x) = (1 + tanh(x / 2)) / 2. Through tanh_, large |x| needs no care. The error
// is within an ulp of 1 in absolute terms, so far below 0 the relative error grows: in float32 the result
// is 0 below about -17, where the exact value is under 4e-8.
template <typename T>
inline T sigmoid_(T x) {
    return T(0.5) + T(0.5) * tanh_(T(0.5) * x);
}

}  // namespace minitorch
