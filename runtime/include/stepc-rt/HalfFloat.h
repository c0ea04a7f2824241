//===- HalfFloat.h - bf16 and f16 bit conversions ---------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The conversions the runtime and `stepc run` use for 16-bit parameters and
// bf16-stored states: to nearest, ties to even, as the compiled code rounds.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_HALFFLOAT_H
#define STEPC_RT_HALFFLOAT_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace stepc::rt {

/// `value` rounded to bf16 (NaN stays a quiet NaN).
inline uint16_t toBf16Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (std::isnan(value))
    return uint16_t((bits >> 16) | 0x40);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

/// bf16 is the top half of an f32: widening is exact.
inline float fromBf16Bits(uint16_t bits) {
  uint32_t wide = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

/// IEEE binary16 bits as a double (exact).
inline double fromF16Bits(uint16_t bits) {
  int exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double sign = (bits & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0)
    return sign * std::ldexp(mantissa, -24);
  if (exponent == 31)
    return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

} // namespace stepc::rt

#endif // STEPC_RT_HALFFLOAT_H
