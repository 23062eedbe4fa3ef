# tlsfix_add_library(NAME source...): one of the libraries users link. It makes target tlsfix_NAME
# with the alias tlsfix::NAME (the name the installed package exports), its public headers in
# NAME/include/ (installed) and its sources in NAME/src/ (private to it), built with the project's
# own policy, which is never passed on to consumers.
function(tlsfix_add_library name)
  set(target tlsfix_${name})
  add_library(${target} ${ARGN})
  add_library(tlsfix::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:tlsfix_policy>)
  install(TARGETS ${target} EXPORT tlsfixTargets)
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
