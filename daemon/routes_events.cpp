// POST /events/:kind: the CLI's ingest over HTTP, all or nothing per request.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"
#include "daemon/worker_pool.hpp"

#include "dm/ingest/ingest.hpp"
#include "dm/metrics/daemon_metrics.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

namespace dm::daemon::handlers {

Response ingest_events(RequestContext& rc)
{
  const std::string kind_name(rc.param("kind"));
  const auto kind = ingest::kind_from_name(kind_name);
  if (!kind)
    throw FieldError("kind", fmt::format("unknown event kind '{}': expected learning, requests, payments, users or host",
                                         kind_name));
  if (rc.request.body().empty())
    throw FieldError("body", "the request has no events: send NDJSON, a JSON array or CSV");
  ingest::IngestOptions options;
  options.kind = *kind;
  const auto content_type = rc.request[http::field::content_type];
  auto has = [&](std::string_view what) { return content_type.find(what) != std::string_view::npos; };
  if (has("text/csv"))
    options.format = ingest::Format::csv;
  else if (has("json"))
    options.format = ingest::Format::ndjson;
  options.max_errors = 20;
  const auto result = ingest::ingest_buffer(rc.worker->raw_db(), "body", rc.request.body(), options);
  rc.server.metrics.ingest_rows.labels({kind_name}).inc(static_cast<double>(result.summary.rows));
  // The load's NOTIFY dm_events reaches this daemon's change listener like
  // every other daemon's, which recomputes the dashboards it touched.
  return json_response(rc.request, http::status::ok,
                       {{"kind", kind_name}, {"rows", result.summary.rows}, {"seconds", result.seconds}});
}

} // namespace dm::daemon::handlers
