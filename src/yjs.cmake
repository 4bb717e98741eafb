# The Yjs v1 codec (issue 6): lib0 primitives, validating decoder, encoder, merge and compaction.
# No I/O and no Asio: a layer below `coord`, which links it; it uses only `base`.
owcore_layer(yjs NO_PCH
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/owcore/yjs/error.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/owcore/yjs/lib0.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/owcore/yjs/update.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/owcore/yjs/merge.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/owcore/yjs/cli_merge.cpp
  DEPS owcore_base Boost::headers)
