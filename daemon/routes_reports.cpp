// /reports: generate (waiting, or ?async=1), list with cursor paging,
// metadata, artifacts, delete.

#include "daemon/api_error.hpp"
#include "daemon/route_handlers.hpp"
#include "daemon/server_context.hpp"
#include "daemon/worker_pool.hpp"

#include "dm/metrics/daemon_metrics.hpp"
#include "dm/render/json_reader.hpp"
#include "dm/report/calendar.hpp"
#include "dm/report/runner.hpp"
#include "dm/report/store.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace dm::daemon::handlers {

namespace {

namespace json = boost::json;

std::optional<std::string> string_member(const json::object& o, std::string_view name)
{
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null())
    return std::nullopt;
  if (!v->is_string())
    throw FieldError(std::string(name), fmt::format("{} must be a string", name));
  return std::string(v->as_string());
}

bool truthy(const std::optional<std::string>& v)
{
  return v && (*v == "1" || *v == "true" || *v == "yes");
}

/// What POST /reports/generate asks for, validated field by field.
struct GenerateBody {
  report::ReportType type{};
  report::Period period;
  bool exact = false;
  std::vector<std::pair<std::string, std::string>> params;
};

GenerateBody parse_generate(const json::object& body, util::Micros now)
{
  static constexpr std::string_view known[] = {"type", "from", "to", "period", "tz", "formats", "params", "exact"};
  for (const auto& kv : body)
    if (std::find(std::begin(known), std::end(known), kv.key()) == std::end(known))
      throw FieldError(std::string(kv.key()),
                       fmt::format("unknown field '{}': expected type, from, to, period, tz, formats, params, exact",
                                   std::string_view(kv.key())));
  GenerateBody out;
  const auto type = string_member(body, "type");
  if (!type)
    throw FieldError("type", "type is required: performance, engagement, learning or business");
  const auto t = report::report_type_from_name(*type);
  if (!t)
    throw FieldError("type", fmt::format("unknown report type '{}': expected performance, engagement, learning or business", *type));
  out.type = *t;
  const std::string tz = string_member(body, "tz").value_or("UTC");
  try {
    report::check_zone(tz);
  } catch (const std::exception& e) {
    throw FieldError("tz", e.what());
  }
  const auto period = string_member(body, "period");
  const auto from = string_member(body, "from");
  const auto to = string_member(body, "to");
  try {
    out.period = report::resolve_period(period, from, to, tz, now);
  } catch (const std::exception& e) {
    const std::string field = period ? "period" : (from && !util::parse_date_or_timestamp(*from)) ? "from" : "to";
    throw FieldError(field, e.what());
  }
  if (const json::value* f = body.if_contains("formats"); f != nullptr && !f->is_null()) {
    if (!f->is_array())
      throw FieldError("formats", "formats must be an array of json, csv, pdf");
    for (const auto& x : f->as_array())
      if (!x.is_string() || (x.as_string() != "json" && x.as_string() != "csv" && x.as_string() != "pdf"))
        throw FieldError("formats", fmt::format("unknown format {}: expected json, csv or pdf", json::serialize(x)));
  }
  if (const json::value* e = body.if_contains("exact"); e != nullptr && !e->is_null()) {
    if (!e->is_bool())
      throw FieldError("exact", "exact must be true or false");
    out.exact = e->as_bool();
  }
  out.params.emplace_back("exact", out.exact ? "true" : "false");
  if (period)
    out.params.emplace_back("period", *period);
  if (const json::value* p = body.if_contains("params"); p != nullptr && !p->is_null()) {
    if (!p->is_object())
      throw FieldError("params", "params must be an object of strings");
    for (const auto& kv : p->as_object()) {
      if (!kv.value().is_string())
        throw FieldError("params", fmt::format("params.{} must be a string", std::string_view(kv.key())));
      if (kv.key() == "exact" || kv.key() == "period")
        throw FieldError("params", fmt::format("params.{} is set by the request itself", std::string_view(kv.key())));
      out.params.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    }
  }
  return out;
}

void record_generation(ServerContext& server, report::ReportType type, double seconds)
{
  server.metrics.reports_generated.labels({std::string(report::name_of(type))}).inc();
  server.metrics.report_generation_duration.observe(seconds);
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

Response generate_report(RequestContext& rc)
{
  const GenerateBody body = parse_generate(json_body_object(rc.request), util::now());
  ServerContext& server = rc.server;
  const auto request = report::request_from_config(server.config, body.type, body.period, body.exact);
  const int keep_days = server.config.reports.keep_days;
  auto& conn = rc.worker->db();
  if (truthy(rc.query("async"))) {
    const auto [id, version] = report::begin_report(conn, request, body.params);
    const bool queued = server.workers.submit([&server, request, params = body.params, id = id, version = version,
                                               keep_days](WorkerContext& worker) {
      const auto started = std::chrono::steady_clock::now();
      try {
        report::finish_report(worker.db(), id, version, request, params, keep_days);
        record_generation(server, request.type, seconds_since(started));
      } catch (const std::exception& e) {
        spdlog::warn("report {} failed: {}", id, full_message(e));
        if (is_connection_error(e))
          worker.connection_failed(full_message(e));
      }
    });
    if (!queued) {
      report::ReportStore(conn).fail(id, "the daemon was at its limit of queued work");
      throw ApiError(http::status::service_unavailable, "busy", "the daemon is at its limit of queued work; retry shortly");
    }
    auto res = json_response(rc.request, http::status::accepted,
                             {{"id", id}, {"version", version}, {"status", "running"},
                              {"href", fmt::format("/reports/{}", id)}});
    res.set(http::field::location, fmt::format("/reports/{}", id));
    return res;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto [id, version] = report::begin_report(conn, request, body.params);
  try {
    report::finish_report(conn, id, version, request, body.params, keep_days);
  } catch (const std::exception& e) {
    // Bad input and lost connections keep their own status; anything else is
    // a failed generation, recorded on the report, and the caller sees why.
    if (exit_code_for(e) != ExitCode::failure || is_connection_error(e))
      throw;
    throw ApiError(http::status::internal_server_error, "report_failed",
                   fmt::format("report {} failed: {}", id, full_message(e)));
  }
  record_generation(server, body.type, seconds_since(started));
  return json_response(rc.request, http::status::ok, report::metadata_json(report::ReportStore(conn).get(id)));
}

Response list_reports(RequestContext& rc)
{
  report::ListFilter filter;
  if (auto type = rc.query("type"); type && !type->empty()) {
    if (!report::report_type_from_name(*type))
      throw FieldError("type", fmt::format("unknown report type '{}'", *type));
    filter.type = *type;
  }
  if (auto since = rc.query("since"); since && !since->empty()) {
    filter.since = util::parse_date_or_timestamp(*since);
    if (!filter.since)
      throw FieldError("since", fmt::format("since '{}': expected a date or an RFC 3339 timestamp", *since));
  }
  auto positive = [](std::string_view name, const std::string& text, std::int64_t max) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v <= 0 || v > max)
      throw FieldError(std::string(name), fmt::format("{} '{}': expected an integer from 1 to {}", name, text, max));
    return v;
  };
  if (auto limit = rc.query("limit"))
    filter.limit = static_cast<int>(positive("limit", *limit, 1000));
  if (auto cursor = rc.query("cursor"); cursor && !cursor->empty())
    filter.before_id = positive("cursor", *cursor, std::numeric_limits<std::int64_t>::max());
  // One more than asked tells whether another page follows.
  const int asked = filter.limit;
  filter.limit = asked + 1;
  auto reports = report::ReportStore(rc.worker->db()).list(filter);
  json::value next = nullptr;
  if (static_cast<int>(reports.size()) > asked) {
    reports.resize(static_cast<std::size_t>(asked));
    next = std::to_string(reports.back().id);
  }
  json::array items;
  for (const auto& r : reports)
    items.push_back(report::metadata_json(r));
  return json_response(rc.request, http::status::ok, {{"reports", std::move(items)}, {"next_cursor", next}});
}

Response get_report(RequestContext& rc)
{
  return json_response(rc.request, http::status::ok,
                       report::metadata_json(report::ReportStore(rc.worker->db()).get(rc.id_param("id"))));
}

Response report_artifact(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  const std::string format = rc.query("format").value_or("json");
  std::string_view content_type;
  if (format == "json")
    content_type = "application/json";
  else if (format == "csv")
    content_type = "text/csv; charset=utf-8; header=present";
  else if (format == "pdf")
    content_type = "application/pdf";
  else
    throw FieldError("format", fmt::format("unknown format '{}': expected json, csv or pdf", format));
  // `section`: one CSV section other than the stored main one, rendered from
  // the stored JSON artifact (the same Report, so the same bytes as a
  // generation with that section).
  const std::string section = rc.query("section").value_or("");
  if (!section.empty() && format != "csv")
    throw FieldError("section", "section applies to format=csv");
  report::ReportStore store(rc.worker->db());
  const auto meta = store.get(id);
  Response res{http::status::ok, rc.request.version()};
  if (section.empty()) {
    res.body() = store.artifact(id, format);
    if (auto it = meta.artifacts.find(format); it != meta.artifacts.end())
      res.set(http::field::etag, "\"" + it->second.second + "\"");
  } else {
    const report::Report stored = render::read_report_json(store.artifact(id, "json"));
    try {
      res.body() = report::render_report(stored, "csv", section);
    } catch (const UsageError& e) {
      throw FieldError("section", e.what());
    }
  }
  res.set(http::field::server, "dmanalyticsd");
  res.set(http::field::content_type, content_type);
  res.set(http::field::content_disposition,
          fmt::format("attachment; filename=\"dmanalytics-{}-{}-v{}{}.{}\"", meta.type, id, meta.version,
                      section.empty() ? "" : "-" + section, format));
  res.keep_alive(rc.request.keep_alive());
  res.prepare_payload();
  return res;
}

Response delete_report(RequestContext& rc)
{
  const std::int64_t id = rc.id_param("id");
  report::ReportStore(rc.worker->db()).remove(id);
  return json_response(rc.request, http::status::ok, {{"id", id}, {"deleted", true}});
}

} // namespace dm::daemon::handlers
