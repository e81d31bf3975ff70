#include "dm/dashboard/user_progress.hpp"

#include "dm/dashboard/json_util.hpp"
#include "dm/dashboard/statements.hpp"
#include "dm/dashboard/streaks.hpp"
#include "dm/util/error.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace dm::dashboard {

using detail::ratio;

boost::json::object compute_user_progress(pqxx::connection& conn, std::int64_t user_id, Micros now)
{
  detail::prepare_statements(conn);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn{conn};
  const pqxx::result topics = txn.exec_prepared(detail::user_topics_stmt, user_id);
  const pqxx::result days = txn.exec_prepared(detail::user_days_stmt, user_id);
  if (topics.empty() && days.empty() && !txn.exec_prepared1(detail::user_exists_stmt, user_id)[0].as<bool>())
    throw NotFound(fmt::format("user {} has no learning activity", user_id));
  txn.commit();

  boost::json::object out;
  out["user_id"] = user_id;
  out["as_of"] = util::format_rfc3339_utc(now);

  boost::json::array topic_rows;
  for (const auto& r : topics) {
    const auto answered = r[1].as<std::int64_t>();
    const auto correct = r[2].as<std::int64_t>();
    const auto sum_ms = r[3].as<std::int64_t>();
    const auto timed = r[4].as<std::int64_t>();
    topic_rows.push_back(boost::json::object{
        {"topic", r[0].as<std::string>()},
        {"answered", answered},
        {"correct", correct},
        {"accuracy", ratio(static_cast<double>(correct), static_cast<double>(answered))},
        {"avg_answer_ms", ratio(static_cast<double>(sum_ms), static_cast<double>(timed))},
        {"last_activity", util::format_rfc3339_utc(r[5].as<Micros>())}});
  }
  out["topics"] = std::move(topic_rows);

  std::int64_t answered = 0, correct = 0, mock_tests = 0, mock_passes = 0;
  std::optional<Micros> last_activity;
  std::vector<std::int64_t> active_days;
  active_days.reserve(days.size());
  for (const auto& r : days) {
    active_days.push_back(r[0].as<std::int64_t>());
    answered += r[1].as<std::int64_t>();
    correct += r[2].as<std::int64_t>();
    mock_tests += r[3].as<std::int64_t>();
    mock_passes += r[4].as<std::int64_t>();
    const auto last = r[5].as<Micros>();
    last_activity = std::max(last_activity.value_or(last), last);
  }
  out["totals"] = {{"answered", answered},
                   {"correct", correct},
                   {"accuracy", ratio(static_cast<double>(correct), static_cast<double>(answered))},
                   {"mock_tests", mock_tests},
                   {"mock_passes", mock_passes}};

  const StreakStats streaks = streak_stats(active_days, util::floor_to(now, util::micros_per_day) / util::micros_per_day);
  out["streak_days"] = streaks.current;
  out["longest_streak_days"] = streaks.longest;
  out["active_days_last_30"] = streaks.active_last_30;
  out["last_activity"] = detail::time_or_null(last_activity);
  return out;
}

} // namespace dm::dashboard
