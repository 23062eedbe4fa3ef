# cmake -P script run by the tlsfix_install_find_package test (see CMakeLists.txt for the inputs):
# installs -DTLSFIX_BUILD_DIR into a fresh prefix, or with -DINSTALLED_PREFIX=/usr takes a package
# already installed there (tests/install/check-deb), then builds and runs the consumer against it
# through find_package and through pkg-config. Every step runs even if an earlier one left a mess:
# the temporary directory is removed on all paths.
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED INSTALLED_PREFIX)
  set(INSTALLED_PREFIX "")
endif()
if(INSTALLED_PREFIX STREQUAL "" AND (NOT DEFINED TLSFIX_BUILD_DIR OR TLSFIX_BUILD_DIR STREQUAL ""))
  message(FATAL_ERROR "install_and_consume.cmake: -DTLSFIX_BUILD_DIR=... or -DINSTALLED_PREFIX=... is required")
endif()
foreach(var CONSUMER_SOURCE_DIR GENERATOR CXX_COMPILER EXPECTED_VERSION LIBDIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_and_consume.cmake: -D${var}=... is required")
  endif()
endforeach()

if(DEFINED ENV{TMPDIR} AND IS_DIRECTORY "$ENV{TMPDIR}")
  set(tmp_root "$ENV{TMPDIR}")
else()
  set(tmp_root "/tmp")
endif()
string(RANDOM LENGTH 12 ALPHABET "0123456789abcdefghijklmnopqrstuvwxyz" suffix)
set(work "${tmp_root}/tlsfix-install-test-${suffix}")
if(EXISTS "${work}")
  message(FATAL_ERROR "${work} already exists; refusing to reuse it")
endif()
if(INSTALLED_PREFIX STREQUAL "")
  set(prefix "${work}/prefix")
else()
  set(prefix "${INSTALLED_PREFIX}")
endif()
set(consumer_build "${work}/consumer-build")
file(MAKE_DIRECTORY "${work}")

set(failure "")
# Runs one step unless an earlier one failed; keeps the first failure with the step's output.
macro(step description)
  if(failure STREQUAL "")
    message(STATUS "install test: ${description}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      set(failure "${description} failed (${rc}):\n${out}")
    endif()
  endif()
endmacro()

if(INSTALLED_PREFIX STREQUAL "")
  step("install ${TLSFIX_BUILD_DIR} into ${prefix}"
       ${CMAKE_COMMAND} --install "${TLSFIX_BUILD_DIR}" --prefix "${prefix}")
endif()

# Only public headers are installed: nothing under a detail/ or internal/ directory.
if(failure STREQUAL "")
  file(GLOB_RECURSE private_headers LIST_DIRECTORIES false "${prefix}/include/tlsfix/*/detail/*" "${prefix}/include/tlsfix/*/internal/*")
  if(private_headers)
    set(failure "private headers were installed: ${private_headers}")
  endif()
endif()

set(configure_args -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    # Only that prefix may satisfy find_package: never the build tree or ~/.cmake registry.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    "-DEXPECTED_TLSFIX_VERSION=${EXPECTED_VERSION}")
if(NOT "${MAKE_PROGRAM}" STREQUAL "")
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
step("configure the consumer" ${CMAKE_COMMAND} ${configure_args})

if(failure STREQUAL "")
  # The consumer must have found the package under test, not some other copy.
  file(STRINGS "${consumer_build}/CMakeCache.txt" found REGEX "^tlsfix_DIR:")
  string(FIND "${found}" "${prefix}/" at)
  if(NOT at GREATER -1)
    set(failure "the consumer found tlsfix outside ${prefix}: ${found}")
  endif()
endif()

step("build the consumer" ${CMAKE_COMMAND} --build "${consumer_build}")
step("run the consumer" "${consumer_build}/tlsfix_consumer")
if(failure STREQUAL "")
  message(STATUS "install test: consumer says: ${out}")
endif()
step("run the consumer's fixtures suite" "${consumer_build}/tlsfix_consumer_suite")

# The same consumer as a Make or Meson build sees the package: flags from pkg-config alone.
if(NOT "${PKG_CONFIG}" STREQUAL "")
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  step("pkg-config --cflags --libs tlsfix-harness" "${PKG_CONFIG}" --cflags --libs tlsfix-harness)
  if(failure STREQUAL "")
    separate_arguments(pc_flags UNIX_COMMAND "${out}")
    separate_arguments(own_flags UNIX_COMMAND "${CXX_FLAGS} -std=c++20 -Wall -Wextra -Werror -Wno-missing-field-initializers")
    separate_arguments(link_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")
    set(pc_build "${work}/pkg-config-build")
    file(MAKE_DIRECTORY "${pc_build}")
    set(version_flag "-DEXPECTED_TLSFIX_VERSION=\"${EXPECTED_VERSION}\"")
    step("compile main.cpp with pkg-config's flags"
         "${CXX_COMPILER}" ${own_flags} ${version_flag} ${pc_flags} -c "${CONSUMER_SOURCE_DIR}/main.cpp" -o "${pc_build}/main.o")
    step("compile legacy_client.cpp with pkg-config's flags"
         "${CXX_COMPILER}" ${own_flags} -Wno-deprecated-declarations ${pc_flags}
         -c "${CONSUMER_SOURCE_DIR}/legacy_client.cpp" -o "${pc_build}/legacy_client.o")
    step("link with pkg-config's flags"
         "${CXX_COMPILER}" ${link_flags} "${pc_build}/main.o" "${pc_build}/legacy_client.o" ${pc_flags} -o "${pc_build}/consumer")
    step("run the pkg-config consumer" "${pc_build}/consumer")
  endif()
endif()

file(REMOVE_RECURSE "${work}")
if(NOT failure STREQUAL "")
  message(FATAL_ERROR "install test: ${failure}")
endif()
