// Beast compiled once (BOOST_BEAST_SEPARATE_COMPILATION). It lives in net, not http, because both
// layers above net use Beast's HTTP types (http's server, realtime's Engine.IO upgrade path), and a
// static library may only rely on the layers below it.
#include <boost/beast/src.hpp>
