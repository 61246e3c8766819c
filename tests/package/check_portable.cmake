# SPDX-License-Identifier: Apache-2.0
# cmake -DPREFIX=<install prefix> -P check_portable.cmake
# Fails when the installed kakeyalattice package config passes a code-generation flag
# (-march=…, -mtune=…, -mavx…, -msse…) to consumers: installed targets must stay portable.
file(GLOB_RECURSE cfgs "${PREFIX}/*/cmake/kakeyalattice/*.cmake")
if(NOT cfgs)
  message(FATAL_ERROR "no kakeyalattice package config under ${PREFIX}")
endif()
foreach(f IN LISTS cfgs)
  file(READ "${f}" text)
  string(REGEX MATCH "-m(arch|tune|avx|sse|fma|bmi)[^ \";]*" hit "${text}")
  if(hit)
    message(FATAL_ERROR "${f} passes '${hit}' to consumers: installed targets must not carry code-generation flags")
  endif()
endforeach()
list(LENGTH cfgs n)
message(STATUS "${n} package config files carry no code-generation flags")
