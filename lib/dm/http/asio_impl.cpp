// Asio and Beast compiled once for every program (BOOST_*_SEPARATE_COMPILATION
// is set on the dm target), including Asio's TLS support for https probes.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
