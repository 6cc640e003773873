# Applied per target (not globally) so third-party headers compiled as SYSTEM stay quiet.
function(mediapath_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  # Clang only: GCC 12's -Wnull-dereference fires inside libstdc++, nlohmann/json and CLI11 code
  # inlined into ours in optimised builds without sanitizers (7 false positives in the release
  # preset, none of them a real path), which would make every user's release build noisy.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wnull-dereference)
  endif()
  if(MEDIAPATH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# One static library per folder with a namespaced alias: mediapath_add_library(net ...) gives
# target mediapath_net and alias mediapath::net.
function(mediapath_add_library name)
  add_library(mediapath_${name} STATIC ${ARGN})
  add_library(mediapath::${name} ALIAS mediapath_${name})
  target_include_directories(mediapath_${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  mediapath_set_warnings(mediapath_${name})
endfunction()

# One GoogleTest executable; every test it holds gets LABEL (unit or integration).
function(mediapath_add_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABEL)
    message(FATAL_ERROR "mediapath_add_test(${name}): LABEL unit|integration is required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  mediapath_set_warnings(${name})
  gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
                       DISCOVERY_TIMEOUT 60)
endfunction()
