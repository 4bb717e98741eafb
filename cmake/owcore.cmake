# Shared compile settings for every owcore target.
add_library(owcore_options INTERFACE)
target_compile_options(owcore_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
  # g++ 12 false positive on Asio coroutine frames (awaitable_frame_base::operator delete).
  -Wno-mismatched-new-delete
  $<$<BOOL:${OWCORE_WERROR}>:-Werror>)
target_compile_definitions(owcore_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  SPDLOG_FMT_EXTERNAL)
if(OWCORE_LINE_TABLES_ONLY)
  target_compile_options(owcore_options INTERFACE -g1)
endif()
if(OWCORE_SANITIZE)
  target_compile_options(owcore_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(owcore_options INTERFACE -fsanitize=address,undefined)
endif()

# owcore_layer(name SOURCES ... DEPS ...): one static library per architecture layer.
function(owcore_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS" ${ARGN})
  add_library(owcore_${name} STATIC ${L_SOURCES})
  target_include_directories(owcore_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(owcore_${name} PUBLIC owcore_options ${L_DEPS})
endfunction()
