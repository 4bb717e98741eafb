// Asio and Asio.SSL are compiled once here (BOOST_ASIO_SEPARATE_COMPILATION) instead of in every
// translation unit that includes them; this roughly halves a clean build on two cores.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
