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
  SPDLOG_FMT_EXTERNAL
  # hiredis's and libpq's pkg-config flags add this; every file gets it so that one precompiled
  # header serves all (a no-op on 64-bit targets).
  _FILE_OFFSET_BITS=64)
if(OWCORE_LINE_TABLES_ONLY)
  target_compile_options(owcore_options INTERFACE -g1)
endif()
if(OWCORE_SANITIZE)
  target_compile_options(owcore_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(owcore_options INTERFACE -fsanitize=address,undefined)
endif()

# Precompiled headers: the Asio, Boost.JSON and standard headers most files include, parsed once
# per build instead of in every file (about a third of a typical file's compile time). The list
# holds only headers whose meaning does not depend on a dependency's compile definitions: g++
# refuses a precompiled header when a macro it was built with is missing, so it is built with the
# base layer's definitions, which every layer above has too. OWCORE_PCH=OFF builds without.
option(OWCORE_PCH "Precompile the most included Boost and standard headers" ON)
set(OWCORE_PCH_HEADERS
  <boost/asio/awaitable.hpp> <boost/asio/co_spawn.hpp> <boost/asio/detached.hpp>
  <boost/asio/io_context.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/post.hpp>
  <boost/asio/steady_timer.hpp> <boost/asio/strand.hpp> <boost/asio/this_coro.hpp>
  <boost/asio/use_awaitable.hpp> <boost/asio/experimental/awaitable_operators.hpp>
  <boost/json/array.hpp> <boost/json/object.hpp> <boost/json/parse.hpp>
  <boost/json/serialize.hpp> <boost/json/value.hpp>
  <boost/system/error_code.hpp> <boost/system/result.hpp>
  <chrono> <functional> <map> <memory> <optional> <string> <string_view> <unordered_map> <vector>)

# owcore_pch_for(target): compile `target` with the shared precompiled header (owcore_pch_base,
# created by the first owcore_layer call).
function(owcore_pch_for target)
  if(OWCORE_PCH)
    target_precompile_headers(${target} REUSE_FROM owcore_pch_base)
  endif()
endfunction()

# Unity builds: each library compiles its .cpp files in batches of eight, one compiler run per
# batch, so the Asio coroutine and Boost.JSON templates they share are instantiated once per batch
# instead of once per file (a clean build on two cores: 288 s instead of 590 s). Off by
# default, where rebuilding one file would recompile its whole batch; ./scripts/test and
# ./scripts/serve, which build from scratch on a new machine, turn it on. Files in one library
# therefore must not define the same name in an anonymous namespace. The separately compiled
# Asio and Beast units (net/*_impl.cpp) stay on their own.
option(OWCORE_UNITY "Compile each library in unity batches (faster clean builds)" OFF)
if(OWCORE_UNITY)
  # g++ warns when a coroutine frame holds a type from an anonymous namespace of a file that is not
  # the one being compiled, which is every file of a unity batch but the first.
  target_compile_options(owcore_options INTERFACE -Wno-subobject-linkage)
endif()

# owcore_unity(target): compile `target` in unity batches when OWCORE_UNITY is on.
function(owcore_unity target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${OWCORE_UNITY} UNITY_BUILD_BATCH_SIZE 8)
endfunction()

# owcore_layer(name [NO_PCH] SOURCES ... DEPS ...): one static library per architecture layer.
# NO_PCH: the layers below net (base, yjs), which do not link Asio: the precompiled header would
# give their objects references to Asio's separately compiled error categories.
function(owcore_layer name)
  cmake_parse_arguments(L "NO_PCH" "" "SOURCES;DEPS" ${ARGN})
  if(OWCORE_PCH AND NOT TARGET owcore_pch_base)
    add_library(owcore_pch_base OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
    target_link_libraries(owcore_pch_base PUBLIC owcore_options Boost::headers Boost::json)
    target_precompile_headers(owcore_pch_base PRIVATE ${OWCORE_PCH_HEADERS})
  endif()
  add_library(owcore_${name} STATIC ${L_SOURCES})
  target_include_directories(owcore_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(owcore_${name} PUBLIC owcore_options ${L_DEPS})
  owcore_unity(owcore_${name})
  if(NOT L_NO_PCH)
    owcore_pch_for(owcore_${name})
  endif()
endfunction()
