#include "dm/ingest/loader.hpp"

#include "dm/db/two_phase.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

namespace dm::ingest {

namespace {

/// How far the raw rows' sending thread may trail the parser.
constexpr std::size_t send_ahead_bytes = std::size_t{64} << 20;

const std::vector<std::string_view>& copy_columns(Kind kind)
{
  static const std::array<std::vector<std::string_view>, 5> columns{{
      {"user_id", "signup_at", "country", "platform", "channel"},
      {"ts", "user_id", "session_id", "kind", "topic", "correct", "answer_ms", "score"},
      {"ts", "user_id", "kind", "plan", "amount_cents", "currency"},
      {"ts", "service", "endpoint", "status", "duration_ms"},
      {"ts", "host", "cpu", "mem", "disk", "load1"},
  }};
  return columns[static_cast<std::size_t>(kind)];
}

template <typename Enum, std::size_t N>
void enum_or_null(db::BinaryCopy& copy, const std::optional<Enum>& v, const std::array<std::string_view, N>& names)
{
  if (v)
    copy.text(names[static_cast<std::size_t>(*v)]);
  else
    copy.null();
}

} // namespace

Loader::Loader(db::PgConnection& conn, Kind kind, db::PgConnection* rollups)
    : conn_(conn), rollups_conn_(rollups), kind_(kind)
{
  summary_.kind = kind;
  if (kind != Kind::users)
    // The raw rows are sent from a thread of the copy, up to 64 MiB behind
    // the parser: reading the input does not wait for the server, and the
    // rollups are prepared (finish) while the server still takes rows.
    copy_ = std::make_unique<db::BinaryCopy>(conn_, table_of(kind), copy_columns(kind), send_ahead_bytes);
}

Loader::~Loader() = default;

void Loader::seen(util::Micros ts) noexcept
{
  if (!summary_.first_ts || ts < *summary_.first_ts)
    summary_.first_ts = ts;
  if (!summary_.last_ts || ts > *summary_.last_ts)
    summary_.last_ts = ts;
}

void Loader::touched(std::int64_t user_id)
{
  // Events come in runs per user: the repeat check keeps the set off the hot path.
  if (summary_.all_users || (user_id == last_touched_ && !touched_.empty()))
    return;
  last_touched_ = user_id;
  if (touched_.insert(user_id).second && touched_.size() > max_notified_users) {
    summary_.all_users = true;
    touched_ = {};
  }
}

void Loader::wrong_kind(Kind got) const
{
  if (got != kind_)
    throw std::logic_error(fmt::format("a {} record given to the {} loader", name_of(got), name_of(kind_)));
}

void Loader::add(const UserRecord& r)
{
  wrong_kind(Kind::users);
  users_.insert_or_assign(r.user_id, r);
  ++summary_.rows;
  touched(r.user_id);
  if (r.signup_at)
    seen(*r.signup_at);
}

void Loader::add(const LearningRecord& r)
{
  wrong_kind(Kind::learning);
  db::BinaryCopy& c = *copy_;
  c.begin_row(8);
  c.timestamp(r.ts);
  c.int64(r.user_id);
  c.optional(r.session_id, [&c](std::int64_t v) { c.int64(v); });
  c.text(learning_kind_names[static_cast<std::size_t>(r.kind)]);
  c.optional(r.topic, [&c](const std::string& v) { c.text(v); });
  c.optional(r.correct, [&c](bool v) { c.boolean(v); });
  c.optional(r.answer_ms, [&c](std::int32_t v) { c.int32(v); });
  c.optional(r.score, [&c](float v) { c.float4(v); });
  learning_.add(r);
  ++summary_.rows;
  touched(r.user_id);
  seen(r.ts);
}

void Loader::add(const PaymentRecord& r)
{
  wrong_kind(Kind::payments);
  db::BinaryCopy& c = *copy_;
  c.begin_row(6);
  c.timestamp(r.ts);
  c.int64(r.user_id);
  c.text(payment_kind_names[static_cast<std::size_t>(r.kind)]);
  enum_or_null(c, r.plan, plan_names);
  c.optional(r.amount_cents, [&c](std::int64_t v) { c.int64(v); });
  c.optional(r.currency, [&c](const std::string& v) { c.text(v); });
  ++summary_.rows;
  touched(r.user_id);
  seen(r.ts);
}

void Loader::add(const RequestRecord& r)
{
  wrong_kind(Kind::requests);
  db::BinaryCopy& c = *copy_;
  c.begin_row(5);
  c.timestamp(r.ts);
  c.text(r.service);
  c.optional(r.endpoint, [&c](const std::string& v) { c.text(v); });
  c.int16(r.status);
  c.float4(r.duration_ms);
  requests_.add(r);
  ++summary_.rows;
  seen(r.ts);
}

void Loader::add(const HostRecord& r)
{
  wrong_kind(Kind::host);
  db::BinaryCopy& c = *copy_;
  auto real = [&c](float v) { c.float4(v); };
  c.begin_row(6);
  c.timestamp(r.ts);
  c.text(r.host);
  c.optional(r.cpu, real);
  c.optional(r.mem, real);
  c.optional(r.disk, real);
  c.optional(r.load1, real);
  hosts_.add(r);
  ++summary_.rows;
  seen(r.ts);
}

LoadSummary Loader::finish()
{
  if (finished_)
    throw std::logic_error("Loader::finish called twice");
  finished_ = true;
  // The learning rollup's sort needs no database: it runs while the server
  // works through the last of the raw rows.
  std::future<rollup::LearningRollup::Prepared> learning;
  if (!learning_.empty())
    learning = std::async(learning_.large() || rollups_conn_ ? std::launch::async : std::launch::deferred,
                          [this] { return learning_.prepare(); });
  // On a second connection the rollups are written while the server still
  // takes the raw rows here: two server processes at work for one load.
  std::future<std::uint64_t> rollups;
  if (rollups_conn_)
    rollups = std::async(std::launch::async, [this, &learning] { return write_rollups(*rollups_conn_, learning); });
  if (copy_) {
    const auto started = std::chrono::steady_clock::now();
    copy_->finish();
    copy_.reset();
    spdlog::debug("{} rows: the server finished the COPY {:.0f} ms after the last one was sent", name_of(kind_),
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  }
  if (kind_ == Kind::users && !users_.empty()) {
    conn_.exec("CREATE TEMP TABLE dm_ingest_users (LIKE dm.users) ON COMMIT DROP");
    {
      db::BinaryCopy c(conn_, "dm_ingest_users", copy_columns(Kind::users));
      for (const auto& [id, u] : users_) {
        c.begin_row(5);
        c.int64(u.user_id);
        c.optional(u.signup_at, [&c](util::Micros t) { c.timestamp(t); });
        c.optional(u.country, [&c](const std::string& v) { c.text(v); });
        enum_or_null(c, u.platform, platform_names);
        enum_or_null(c, u.channel, channel_names);
      }
      c.finish();
    }
    // Key order: concurrent upserts of the same users lock rows in one order.
    conn_.exec(
        "INSERT INTO dm.users AS t SELECT * FROM dm_ingest_users ORDER BY user_id "
        "ON CONFLICT (user_id) DO UPDATE SET signup_at = excluded.signup_at, "
        "country = excluded.country, platform = excluded.platform, channel = excluded.channel");
    conn_.exec("DROP TABLE dm_ingest_users");
  }
  summary_.rollup_rows += rollups.valid() ? rollups.get() : write_rollups(conn_, learning);
  summary_.rollups_on_second_connection = rollups_conn_ != nullptr;
  summary_.users.assign(touched_.begin(), touched_.end());
  std::sort(summary_.users.begin(), summary_.users.end());
  return summary_;
}

std::uint64_t Loader::write_rollups(db::PgConnection& conn, std::future<rollup::LearningRollup::Prepared>& learning)
{
  std::uint64_t written = 0;
  if (learning.valid()) {
    const auto started = std::chrono::steady_clock::now();
    written += learning_.write(conn, learning.get());
    spdlog::debug("learning rollups written in {:.0f} ms{}",
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count(),
                  &conn == &conn_ ? "" : " on the second connection");
  }
  written += requests_.write(conn);
  written += hosts_.write(conn);
  return written;
}

void notify_loaded(db::PgConnection& conn, const LoadSummary& s)
{
  boost::json::object payload{{"kind", name_of(s.kind)}, {"rows", s.rows}};
  payload["from"] = s.first_ts ? boost::json::value(util::format_rfc3339_utc(*s.first_ts)) : nullptr;
  payload["to"] = s.last_ts ? boost::json::value(util::format_rfc3339_utc(*s.last_ts)) : nullptr;
  if (s.all_users)
    payload["users"] = "*";
  else
    payload["users"] = boost::json::value_from(s.users);
  // The server appends "at" so that it is read in the statement itself.
  std::string text = boost::json::serialize(payload);
  text.back() = ',';
  text += R"("at":)";
  conn.query_value(
      "SELECT pg_notify('dm_events', $1 || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint || '}')",
      {std::move(text)});
}

void commit_loaded(db::PgTransaction& txn, db::CompanionTransaction* companion, const std::vector<LoadSummary>& loaded)
{
  if (!companion) {
    for (const auto& s : loaded)
      notify_loaded(txn.connection(), s);
    txn.commit();
    return;
  }
  companion->commit();
  for (const auto& s : loaded)
    notify_loaded(txn.connection(), s);
}

} // namespace dm::ingest
