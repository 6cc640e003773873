# Every dependency is a Debian 12 package installed by scripts/setup-deps.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.18)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.88)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core pull)
find_package(OpenSSL REQUIRED)
find_package(Threads REQUIRED)

# libnice: only its STUN library is used. The `nice` pkg-config module drags in GLib flags we do
# not need, so the header and library are found directly.
find_path(NICE_STUN_INCLUDE_DIR stun/stunagent.h REQUIRED)
find_library(NICE_LIBRARY nice REQUIRED)
add_library(nice_stun INTERFACE IMPORTED)
target_include_directories(nice_stun INTERFACE "${NICE_STUN_INCLUDE_DIR}")
target_link_libraries(nice_stun INTERFACE "${NICE_LIBRARY}")
add_library(nice::stun ALIAS nice_stun)

# cpp-httplib (the Genesys emulator's HTTP server). Debian ships it compiled, with TLS support.
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
find_library(HTTPLIB_LIBRARY cpp-httplib REQUIRED)
add_library(cpp_httplib INTERFACE IMPORTED)
target_include_directories(cpp_httplib INTERFACE "${HTTPLIB_INCLUDE_DIR}")
target_compile_definitions(cpp_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)
target_link_libraries(cpp_httplib INTERFACE "${HTTPLIB_LIBRARY}" OpenSSL::SSL OpenSSL::Crypto
                      Threads::Threads)
add_library(httplib::httplib ALIAS cpp_httplib)

if(MEDIAPATH_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
