# Hardening for every target of this project (the packaged binary is built by the release preset).
# Included from the top CMakeLists before any target is defined, so every product target (and the
# tests, which exercise the same objects) gets the same code generation. tests/hardening checks the
# result on the built binary: tests/hardening/check_hardening.sh.
include(CheckCXXCompilerFlag)
include(CheckPIESupported)

# PIE: CMAKE_POSITION_INDEPENDENT_CODE alone only adds -fPIE to compiles; check_pie_supported()
# makes CMake pass -pie at link time too (policy CMP0083, NEW since cmake_minimum_required 3.14).
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
check_pie_supported(OUTPUT_VARIABLE pie_error LANGUAGES C CXX)
if(NOT CMAKE_CXX_LINK_PIE_SUPPORTED)
  message(WARNING "PIE is not supported by this toolchain: ${pie_error}")
endif()

# Every flag here is compatible with ASan, UBSan and TSan, so the sanitizer presets keep them.
set(mediapath_hardening_flags -fstack-protector-strong -fstack-clash-protection)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|i[3-6]86)$")
  list(APPEND mediapath_hardening_flags -fcf-protection)
endif()
foreach(flag IN LISTS mediapath_hardening_flags)
  string(MAKE_C_IDENTIFIER "MEDIAPATH_HAS${flag}" has_flag)
  check_cxx_compiler_flag(${flag} ${has_flag})
  if(${has_flag})
    add_compile_options(${flag})
  endif()
endforeach()

# Full RELRO: the GOT is read-only after start-up, which needs every symbol bound at load (now).
add_link_options(LINKER:-z,relro LINKER:-z,now)

# _FORTIFY_SOURCE only works with optimisation, and the sanitizers replace the same libc calls
# with their own checked versions (ASan warns about, TSan misreports, fortified wrappers). -U
# first: a toolchain that already defines it by default would otherwise warn about a redefinition.
if(NOT MEDIAPATH_SANITIZE AND NOT MEDIAPATH_SANITIZE_THREAD)
  add_compile_options(
    "$<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-U_FORTIFY_SOURCE;-D_FORTIFY_SOURCE=2>")
endif()
