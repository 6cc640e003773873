# Applied per target (not globally) so third-party headers compiled as SYSTEM stay quiet.
function(mediapath_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
                         -Wimplicit-fallthrough)
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
