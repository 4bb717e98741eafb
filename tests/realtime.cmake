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
    # owcore_fleet: the multi-instance browser tests and the chaos scenarios never run beside each
    # other (each starts two or three owcore instances and a Redis deployment; the chaos storm
    # adds hundreds of clients); they wait on leases and failovers with deadlines, which a
    # neighbour's load can push past. They still run beside the C++ integration tests; their
    # COST makes ctest start them first, so that their one-at-a-time chain (about 5 minutes)
    # overlaps the rest instead of running alone at the end.
    set_tests_properties(openwebui_fleet_${topology} PROPERTIES LABELS integration TIMEOUT 300
                         RESOURCE_LOCK owcore_fleet COST 1000)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(openwebui_fleet_${topology} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
    endif()
  endforeach()
  # The chaos suite's short versions (issue 13; bench/run_chaos runs the long ones and prints the
  # table): one fault each under a numbered load across two `owcore serve` instances
  # (tests/js/chaos/), asserting the goals that are properties (no duplicate, no loss after the
  # topology settled, no acknowledged write lost beyond what Redis itself dropped, no key left after
  # the lease time, no crash), never timings; the reconnect storm with 300 clients instead of
  # 10,000. About 4 minutes in all (256 s on a loaded 2-core machine).
  set(OWCORE_CHAOS_SCENARIOS
      sentinel-kill-master:sentinel sentinel-sigstop-master:sentinel sentinel-manual-failover:sentinel
      standalone-restart-aof:standalone standalone-client-kill-pubsub:standalone
      standalone-pubsub-buffer-limit:standalone standalone-maxmemory:standalone
      owcore-kill-instance:standalone owcore-sigstop-instance:standalone
      cluster-kill-master:cluster cluster-manual-failover:cluster cluster-reshard:cluster
      clients-slow-reader:standalone clients-reconnect-storm:standalone)
  foreach(entry ${OWCORE_CHAOS_SCENARIOS})
    string(REPLACE ":" ";" parts ${entry})
    list(GET parts 0 scenario)
    list(GET parts 1 topology)
    string(REPLACE "-" "_" test_name "chaos_${scenario}")
    add_test(NAME ${test_name}
             COMMAND ${OWCORE_NODE} --experimental-websocket
                     ${CMAKE_CURRENT_SOURCE_DIR}/js/chaos/chaos.mjs --server $<TARGET_FILE:owcore>
                     --topology=${topology} --scenario=${scenario} --short)
    # The driver stops everything it started at its own 150 s deadline, before ctest's.
    set_tests_properties(${test_name} PROPERTIES LABELS integration TIMEOUT 200
                         RESOURCE_LOCK owcore_fleet COST 1000)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(${test_name} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
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
    set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 300
                         RESOURCE_LOCK owcore_fleet COST 1000)
    if(OWCORE_JS_SKIP_CODE)
      set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE ${OWCORE_JS_SKIP_CODE})
    endif()
  endforeach()
endif()
