#pragma once
// The HTTP message types of the daemon (Beast, string bodies).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace dm::daemon {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

} // namespace dm::daemon
