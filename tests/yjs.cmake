# Yjs codec tests beyond the unit tests (issue 6): the helper the JavaScript property test drives.
add_executable(owcore_yjs_tool ${CMAKE_CURRENT_SOURCE_DIR}/yjs_tool.cpp)
target_link_libraries(owcore_yjs_tool PRIVATE owcore_yjs)

# Property test against npm yjs (tests/js, installed by scripts/setup): ~2,000 seeded random
# multi-client histories, byte-for-byte against Y.mergeUpdates plus semantic checks (docs/yjs.md).
find_program(OWCORE_NODE node)
if(OWCORE_REQUIRE_JS AND NOT OWCORE_NODE)
  message(FATAL_ERROR "OWCORE_REQUIRE_JS: node is not installed (scripts/setup installs it)")
endif()
if(OWCORE_NODE)
  add_test(NAME yjs_property
           COMMAND ${OWCORE_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/js/yjs_property.mjs
                   --tool $<TARGET_FILE:owcore_yjs_tool> --runs 2000 --seed 42)
  set_tests_properties(yjs_property PROPERTIES LABELS integration TIMEOUT 300)
  if(OWCORE_JS_SKIP_CODE)
    set_tests_properties(yjs_property PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
  endif()
endif()
