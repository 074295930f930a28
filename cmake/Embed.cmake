# nl_embed(<output.cpp> <base dir> <files...>)
# Generates a C++ source that holds the bytes of each file, so that the Lua standard
# library and the reference docs travel inside the executable and inside neurolua.so
# (a stock lua5.4 loading the module needs no install tree). Regenerated when any
# listed file changes.
function(nl_embed output base)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DBASE=${base} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding Lua modules and docs"
    VERBATIM)
endfunction()
