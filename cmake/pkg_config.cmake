# pkg-config files for the installed libraries, so that Meson, Make and plain compiler command lines
# can use the package as CMake's find_package(tlsfix) does:
#
#   c++ -std=c++20 test.cpp $(pkg-config --cflags --libs tlsfix-harness)
#
# The prefix is found relative to the .pc file itself, so an install moved with --prefix (or
# DESTDIR, or a Debian package) stays correct. The libraries are static, so their dependencies
# go in Requires (not Requires.private): a plain `--libs` then links everything they need. The
# C++ standard (C++20 or later) stays the consumer's choice and is not in Cflags.

# tlsfix_pkg_config(NAME target DESCRIPTION text [REQUIRES pkg...] [CFLAGS flag...] [LIBS flag...])
function(tlsfix_pkg_config name)
  cmake_parse_arguments(PC "" "TARGET;DESCRIPTION" "REQUIRES;CFLAGS;LIBS" ${ARGN})
  set(pkgconfig_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  # One "/.." per component of the pkgconfig directory below the prefix.
  string(REGEX REPLACE "[^/]+" ".." up "${pkgconfig_dir}")
  list(JOIN PC_REQUIRES ", " requires)
  list(JOIN PC_CFLAGS " " cflags)
  list(JOIN PC_LIBS " " libs)
  get_target_property(output ${PC_TARGET} OUTPUT_NAME)
  file(GENERATE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.pc" CONTENT
"prefix=\${pcfiledir}/${up}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}

Name: ${name}
Description: ${PC_DESCRIPTION}
Version: ${PROJECT_VERSION}
Requires: ${requires}
Cflags: -I\${includedir} ${cflags}
Libs: -L\${libdir} -l${output} ${libs}
")
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/${name}.pc" DESTINATION "${pkgconfig_dir}")
endfunction()
