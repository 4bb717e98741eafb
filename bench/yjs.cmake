# Yjs merge benchmark (issue 6): owcore's merge vs Y.mergeUpdates on 500 keystrokes plus a 200 KB
# snapshot. bench/run_yjs_bench builds the workload with Node, runs both and prints the ratio.
add_executable(owcore_yjs_merge_bench ${CMAKE_CURRENT_SOURCE_DIR}/yjs_merge_bench.cpp)
target_link_libraries(owcore_yjs_merge_bench PRIVATE owcore_yjs)
