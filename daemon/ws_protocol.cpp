#include "daemon/ws_protocol.hpp"

#include "dm/util/json_text.hpp"
#include "dm/util/time.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace dm::daemon {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<std::string_view, WsDashboard>, 4> dashboard_names{{
    {"user_progress", WsDashboard::user_progress},
    {"system_performance", WsDashboard::system_performance},
    {"business_kpis", WsDashboard::business_kpis},
    {"alerts", WsDashboard::alerts},
}};

/// A client-supplied string, shortened for an error message.
std::string quoted(std::string_view text)
{
  constexpr std::size_t max = 40;
  std::string out = json::serialize(json::string_view(text.data(), std::min(text.size(), max)));
  if (text.size() > max)
    out += "...";
  return out;
}

WsProtocolError refusal(std::string code, std::string message)
{
  return WsProtocolError{std::move(code), std::move(message)};
}

/// `user_id` as a positive integer (a JSON integer, or a double holding one).
std::optional<std::int64_t> positive_id(const json::value& v)
{
  if (v.is_int64())
    return v.get_int64() > 0 ? std::optional(v.get_int64()) : std::nullopt;
  if (v.is_uint64())
    return v.get_uint64() > 0 && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
               ? std::optional(static_cast<std::int64_t>(v.get_uint64()))
               : std::nullopt;
  if (v.is_double()) {
    const double d = v.get_double();
    if (d >= 1 && d < 9.2e18 && std::floor(d) == d)
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

} // namespace

std::string_view to_string(WsDashboard dashboard) noexcept
{
  for (const auto& [name, d] : dashboard_names)
    if (d == dashboard)
      return name;
  return "system_performance";
}

std::optional<WsDashboard> parse_dashboard(std::string_view name) noexcept
{
  for (const auto& [n, d] : dashboard_names)
    if (n == name)
      return d;
  return std::nullopt;
}

namespace {

/// RFC 6455 5.2: FIN + text, the payload length in 7, 7+16 or 7+64 bits.
std::string server_text_header(std::size_t size)
{
  std::string header;
  header += static_cast<char>(0x81);
  if (size < 126) {
    header += static_cast<char>(size);
  } else if (size <= 0xffff) {
    header += static_cast<char>(126);
    header += static_cast<char>((size >> 8) & 0xff);
    header += static_cast<char>(size & 0xff);
  } else {
    header += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      header += static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xff);
  }
  return header;
}

} // namespace

std::shared_ptr<const WsFrame> make_data_frame(std::shared_ptr<const dashboard::Snapshot> snapshot, WsTopic topic,
                                               bool is_snapshot)
{
  auto frame = std::make_shared<WsFrame>();
  std::string& out = frame->text;
  out.reserve(snapshot->body->size() + 128);
  out += is_snapshot ? R"({"type":"snapshot","dashboard":")" : R"({"type":"update","dashboard":")";
  out += to_string(topic.dashboard);
  out += '"';
  if (topic.dashboard == WsDashboard::user_progress) {
    out += R"(,"user_id":)";
    out += std::to_string(topic.user_id);
  }
  out += R"(,"seq":)";
  out += std::to_string(snapshot->seq);
  out += R"(,"ts":")";
  out += util::format_rfc3339_utc(snapshot->ts);
  out += R"(","data":)";
  out += *snapshot->body;
  out += '}';
  frame->header = server_text_header(out.size());
  frame->snapshot = std::move(snapshot);
  frame->topic = topic;
  frame->is_snapshot = is_snapshot;
  return frame;
}

std::shared_ptr<const WsFrame> make_error_frame(std::string_view code, std::string_view message)
{
  auto frame = std::make_shared<WsFrame>();
  frame->text = util::json_text(json::object{{"type", "error"},
                                             {"code", json::string_view(code.data(), code.size())},
                                             {"message", json::string_view(message.data(), message.size())}});
  frame->header = server_text_header(frame->text.size());
  return frame;
}

std::variant<WsClientMessage, WsProtocolError> parse_client_message(std::string_view text)
{
  json::error_code ec;
  const json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec)
    return refusal("bad_json", fmt::format("the message is not JSON: {}", ec.message()));
  const json::object* obj = doc.if_object();
  if (obj == nullptr)
    return refusal("bad_message", R"(the message must be a JSON object such as {"type":"subscribe","dashboard":"alerts"})");

  WsClientMessage msg;
  const json::value* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string())
    return refusal("bad_message", "the message has no string field \"type\" (subscribe or unsubscribe)");
  const std::string_view type_name = type->get_string();
  if (type_name == "subscribe")
    msg.type = WsClientMessage::Type::subscribe;
  else if (type_name == "unsubscribe")
    msg.type = WsClientMessage::Type::unsubscribe;
  else
    return refusal("unknown_type", fmt::format("unknown message type {} (expected subscribe or unsubscribe)",
                                               quoted(type_name)));

  const json::value* dashboard = obj->if_contains("dashboard");
  if (dashboard == nullptr || !dashboard->is_string())
    return refusal("bad_message", fmt::format("{} needs a string field \"dashboard\" (user_progress, "
                                              "system_performance, business_kpis or alerts)",
                                              type_name));
  const auto parsed = parse_dashboard(dashboard->get_string());
  if (!parsed)
    return refusal("unknown_dashboard", fmt::format("unknown dashboard {} (expected user_progress, "
                                                    "system_performance, business_kpis or alerts)",
                                                    quoted(dashboard->get_string())));
  msg.dashboard = *parsed;

  if (const json::value* user = obj->if_contains("user_id")) {
    if (msg.dashboard != WsDashboard::user_progress)
      return refusal("bad_message", fmt::format("\"user_id\" belongs to user_progress, not {}", to_string(msg.dashboard)));
    const auto id = positive_id(*user);
    if (!id)
      return refusal("bad_user_id", fmt::format("\"user_id\" must be a positive integer, not {}",
                                                quoted(json::serialize(*user))));
    msg.user_id = *id;
  }
  return msg;
}

} // namespace dm::daemon
