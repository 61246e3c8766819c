// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file isa.h
/// Run-time choice of the instruction set of the CPU batch loops (cpu/codec.h).
///
/// The library is compiled for the architecture baseline (x86-64, aarch64); on x86-64
/// with GCC or Clang, cpu/codec.h also compiles each row loop for AVX2 and AVX-512
/// (target attributes; every codec function is always_inline, so each copy inlines the
/// whole codec for its ISA) and the first batch call picks the best one this CPU runs.
/// Codes and decoded values are bit-identical for every ISA (no FMA contraction, same
/// operation order; the golden tests run under each).
///
/// KAKEYA_ISA (read once, at the first batch call) forces an ISA: `avx512`, `avx2`,
/// `baseline`, or `auto` / empty for the best available. A name not in that list, or
/// an ISA this CPU (or this build) cannot run, is an error: every batch call then
/// throws InvalidArgument saying so. set_isa() changes the choice at run time.

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "kakeya/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__) && \
    !defined(__HIPCC__) && !defined(KAKEYA_NO_ISA_DISPATCH)
#define KAKEYA_X86_DISPATCH 1
#else
#define KAKEYA_X86_DISPATCH 0
#endif

namespace kakeya::cpu {

/// Instruction sets of the dispatched loops, lowest first.
enum class Isa : int {
  kBaseline = 0,  ///< the compile flags of the library (x86-64 / aarch64 baseline by default)
  kAVX2 = 1,      ///< AVX2 + FMA + BMI1/2 + F16C (x86-64-v3)
  kAVX512 = 2,    ///< AVX-512 F/BW/DQ/VL/CD on top of AVX2 (x86-64-v4)
};

[[nodiscard]] inline const char* to_string(Isa isa) noexcept {
  switch (isa) {
    case Isa::kAVX512: return "avx512";
    case Isa::kAVX2: return "avx2";
    default: return "baseline";
  }
}

/// True when this build has a loop for `isa` and this CPU (and OS) can run it.
[[nodiscard]] inline bool isa_supported(Isa isa) noexcept {
  if (isa == Isa::kBaseline) return true;
#if KAKEYA_X86_DISPATCH
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                  __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("avx");
  if (isa == Isa::kAVX2) return v3;
  if (isa == Isa::kAVX512)
    return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
#endif
  return false;
}

/// The best ISA this CPU runs, ignoring KAKEYA_ISA.
[[nodiscard]] inline Isa best_isa() noexcept {
  if (isa_supported(Isa::kAVX512)) return Isa::kAVX512;
  if (isa_supported(Isa::kAVX2)) return Isa::kAVX2;
  return Isa::kBaseline;
}

/// Every ISA this CPU runs, lowest first.
[[nodiscard]] inline std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::kBaseline, Isa::kAVX2, Isa::kAVX512})
    if (isa_supported(i)) out.push_back(i);
  return out;
}

namespace detail {

/// Parses a KAKEYA_ISA value; returns false with `why` set when it names no usable ISA.
[[nodiscard]] inline bool parse_isa(const std::string& v, Isa* out, std::string* why) {
  if (v.empty() || v == "auto" || v == "native") {
    *out = best_isa();
    return true;
  }
  Isa want;
  if (v == "avx512") want = Isa::kAVX512;
  else if (v == "avx2") want = Isa::kAVX2;
  else if (v == "baseline") want = Isa::kBaseline;
  else {
    *why = ::kakeya::detail::concat("isa = '", v, "' is not one of avx512, avx2, baseline, auto");
    return false;
  }
  if (!isa_supported(want)) {
    *why = ::kakeya::detail::concat("isa = '", v, "': this CPU or build cannot run it (best available: ",
                                    to_string(best_isa()), ")");
    return false;
  }
  *out = want;
  return true;
}

/// -1: KAKEYA_ISA was invalid; otherwise the Isa value. Initialised once from the env.
struct IsaState {
  std::atomic<int> isa{0};
  std::string error;  // set once, before first publication; read-only afterwards
  std::string env;    // the KAKEYA_ISA value read (empty when unset)
  IsaState() {
    const char* e = std::getenv("KAKEYA_ISA");
    env = e ? e : "";
    Isa i = Isa::kBaseline;
    if (parse_isa(env, &i, &error)) {
      isa.store(static_cast<int>(i));
    } else {
      error = "environment variable KAKEYA_ISA: " + error;
      isa.store(-1);
    }
  }
};

inline IsaState& isa_state() {
  static IsaState s;
  return s;
}

}  // namespace detail

/// The ISA the batch loops use now. Throws InvalidArgument when KAKEYA_ISA was invalid
/// and set_isa() has not replaced it.
[[nodiscard]] inline Isa active_isa() {
  auto& s = detail::isa_state();
  const int v = s.isa.load(std::memory_order_relaxed);
  if (v < 0) throw InvalidArgument(s.error);
  return static_cast<Isa>(v);
}

/// The KAKEYA_ISA value the library read (empty when unset).
[[nodiscard]] inline const std::string& isa_env() { return detail::isa_state().env; }

/// Forces the ISA of later batch calls ("avx512", "avx2", "baseline", "auto"); throws
/// InvalidArgument for a name not in that list or an ISA this CPU cannot run. Calls
/// already running are not affected.
inline void set_isa(const std::string& name) {
  Isa i = Isa::kBaseline;
  std::string why;
  if (!detail::parse_isa(name, &i, &why)) throw InvalidArgument(why);
  detail::isa_state().isa.store(static_cast<int>(i));
}

}  // namespace kakeya::cpu
