# CMake functions for projects that use stepc (included by stepcConfig.cmake
# and by stepc's own build).

# stepc_add_artifact(<target> SPEC <spec.mlir> [OUTPUT <file.stepc>])
#
# Compiles SPEC with the stepc compiler (the imported target
# stepc::compiler) at build time into OUTPUT (default:
# ${CMAKE_CURRENT_BINARY_DIR}/<spec name>.stepc), recompiling when the spec
# changes. <target> is built by `all`; its ARTIFACT property holds OUTPUT.
function(stepc_add_artifact target)
  cmake_parse_arguments(ARG "" "SPEC;OUTPUT" "" ${ARGN})
  if(NOT ARG_SPEC)
    message(FATAL_ERROR "stepc_add_artifact(${target}): SPEC is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "stepc_add_artifact(${target}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(spec "${ARG_SPEC}" ABSOLUTE)
  if(NOT ARG_OUTPUT)
    get_filename_component(name "${spec}" NAME_WE)
    set(ARG_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.stepc")
  endif()
  add_custom_command(OUTPUT "${ARG_OUTPUT}"
    COMMAND stepc::compiler compile "${spec}" -o "${ARG_OUTPUT}"
    DEPENDS "${spec}" stepc::compiler
    COMMENT "stepc: compiling ${spec}"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS "${ARG_OUTPUT}")
  set_target_properties(${target} PROPERTIES ARTIFACT "${ARG_OUTPUT}")
endfunction()
