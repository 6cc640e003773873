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

# One static library per folder with a namespaced alias: mediapath_add_library(net ...) in net/
# gives target mediapath_net and alias mediapath::net; in agent/config/, mediapath_add_library(
# agent_config ...) gives mediapath::agent_config.
#
# Include scopes enforce the dependency direction. The source root is on nobody's include path:
# each library publishes only its own folder, through a link in the build tree
# (build/include/<name>/agent/config -> agent/config), so "agent/config/config.h" is found only
# by code that links mediapath::agent_config (directly or through a PUBLIC link). An include
# against the direction is a build error ("No such file or directory"); tests/layering proves it.
function(mediapath_add_library name)
  add_library(mediapath_${name} STATIC ${ARGN})
  add_library(mediapath::${name} ALIAS mediapath_${name})
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  set(scope "${PROJECT_BINARY_DIR}/include/${name}")
  get_filename_component(parent "${scope}/${folder}" DIRECTORY)
  file(MAKE_DIRECTORY "${parent}")
  file(CREATE_LINK "${CMAKE_CURRENT_SOURCE_DIR}" "${scope}/${folder}" SYMBOLIC)
  target_include_directories(mediapath_${name} PUBLIC "${scope}")
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
