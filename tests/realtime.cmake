# Realtime (issue 5): the project's own Engine.IO / Socket.IO protocol tests, driven by npm's
# socket.io-client (tests/js, installed by `npm ci` there) against `owcore-testbed
# conformance-server --profile testing` on a free port (the testing profile lives in
# src/testbed, outside the production binary). The unit tests (tests/unit/engineio_*, socketio_*) are picked
# up by the unit glob. The official conformance suites of socketio/engine.io-protocol and
# socketio/socket.io-protocol are run by hand beside the project (how: the comment at the top of
# src/owcore/app/conformance_server.hpp), never from here.
find_program(OWCORE_NODE node)
if(OWCORE_REQUIRE_JS AND NOT OWCORE_NODE)
  message(FATAL_ERROR "OWCORE_REQUIRE_JS: node is not installed (scripts/setup installs it)")
endif()
if(OWCORE_NODE)
  foreach(suite protocol malformed)
    add_test(NAME socketio_${suite}
             COMMAND ${OWCORE_NODE} --experimental-websocket --test-reporter=spec
                     ${CMAKE_CURRENT_SOURCE_DIR}/js/socketio_${suite}.mjs
                     --server $<TARGET_FILE:owcore-testbed>)
    # 77: tests/js/node_modules is missing (npm ci not run).
    set_tests_properties(socketio_${suite} PROPERTIES LABELS integration TIMEOUT 300)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(socketio_${suite} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
    endif()
  endforeach()
  # Open WebUI's browser against two `owcore serve` (profile openwebui) on one Redis deployment
  # (standalone, Sentinel, Cluster) and a SQLite database with Open WebUI's DDL
  # (tests/js/openwebui_fleet.mjs; needs redis-server, redis-sentinel, redis-cli and sqlite3,
  # installed by scripts/setup).
  foreach(topology standalone sentinel cluster)
    add_test(NAME openwebui_fleet_${topology}
             COMMAND ${OWCORE_NODE} --experimental-websocket --test-reporter=spec
                     ${CMAKE_CURRENT_SOURCE_DIR}/js/openwebui_fleet.mjs --server $<TARGET_FILE:owcore>
                     --topology=${topology})
    set_tests_properties(openwebui_fleet_${topology} PROPERTIES LABELS integration TIMEOUT 300)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(openwebui_fleet_${topology} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
    endif()
  endforeach()
  # A Python Open WebUI 0.11.5 instance (tests/integration/python/openwebui_peer.py, Debian's
  # python3-redis) beside one `owcore serve`, in both pub/sub channel modes.
  foreach(mode true false)
    set(name openwebui_interop_room_channels_${mode})
    add_test(NAME ${name}
             COMMAND ${OWCORE_NODE} --experimental-websocket --test-reporter=spec
                     ${CMAKE_CURRENT_SOURCE_DIR}/js/openwebui_interop.mjs --server $<TARGET_FILE:owcore>
                     --room-channels=${mode})
    set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 300)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
    endif()
  endforeach()
endif()
