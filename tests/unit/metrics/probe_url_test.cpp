// Health probe URLs split for the HTTP client, and redacted for display.

#include "dm/metrics/probe_url.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace dm::metrics;

TEST_CASE("parse_probe_url splits http and https URLs", "[metrics][probe]")
{
  const ProbeUrl a = parse_probe_url("http://api.internal:8080/healthz?verbose=1#top");
  CHECK_FALSE(a.tls);
  CHECK(a.host == "api.internal");
  CHECK(a.port == "8080");
  CHECK(a.target == "/healthz?verbose=1");
  CHECK(a.host_header == "api.internal:8080");
  CHECK(a.authorization.empty());

  const ProbeUrl b = parse_probe_url("HTTPS://example.com");
  CHECK(b.tls);
  CHECK(b.host == "example.com");
  CHECK(b.port == "443");
  CHECK(b.target == "/");
  CHECK(b.host_header == "example.com");

  const ProbeUrl c = parse_probe_url("http://[::1]:9000?x=1");
  CHECK(c.host == "::1");
  CHECK(c.port == "9000");
  CHECK(c.target == "/?x=1");
  CHECK(c.host_header == "[::1]:9000");

  // The default port written out is left out of the Host header.
  CHECK(parse_probe_url("https://example.com:443/").host_header == "example.com");
  CHECK(parse_probe_url("http://10.0.0.1:80/").host_header == "10.0.0.1");
}

TEST_CASE("parse_probe_url turns user info into basic authentication", "[metrics][probe]")
{
  const ProbeUrl u = parse_probe_url("https://mon:s%40cret@status.example.com/ping");
  CHECK(u.host == "status.example.com");
  CHECK(u.target == "/ping");
  CHECK(u.authorization == "Basic bW9uOnNAY3JldA=="); // base64("mon:s@cret")
  // No password: an empty one after the colon.
  CHECK(parse_probe_url("http://mon@host/").authorization == "Basic bW9uOg=="); // base64("mon:")
}

TEST_CASE("parse_probe_url refuses what is not an HTTP URL", "[metrics][probe]")
{
  for (const char* bad : {"", "ftp://host/", "http://", "http:///path", "http://host:0/", "http://host:65536/",
                          "http://host:port/", "http://[::1/", "http://[::1]x/", "http://ho st/",
                          "http://host/a b", "http://[zz::1]/"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_probe_url(bad), std::invalid_argument);
  }
  try {
    parse_probe_url("http://user:hunter2@ho st/");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }
}

TEST_CASE("redact_url hides the password only", "[metrics][probe]")
{
  CHECK(redact_url("https://mon:secret@host/x@y") == "https://mon:***@host/x@y");
  CHECK(redact_url("https://mon@host/") == "https://mon@host/");
  CHECK(redact_url("http://host:8080/a") == "http://host:8080/a");
  CHECK(redact_url("not a url") == "not a url");
}
