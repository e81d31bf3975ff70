// The learning-outcomes report (DESIGN 5): answers, accuracy, mock tests,
// per-topic results with their change across the period, struggling topics.

#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace dm::report::detail {

namespace {

/// Per-topic answers of one time range: from the rollup when its bounds are
/// whole hours, else from raw rows.
constexpr const char* topic_rollup_sql =
    "SELECT topic, sum(answered), sum(correct), sum(sum_answer_ms), sum(timed) FROM dm.learning_hourly"
    " WHERE hour >= $1 AND hour < $2 AND topic <> '' AND answered > 0 GROUP BY topic";
constexpr const char* topic_raw_sql =
    "SELECT topic, count(*), count(*) FILTER (WHERE correct), coalesce(sum(answer_ms), 0), count(answer_ms)"
    " FROM dm.learning_events WHERE ts >= $1 AND ts < $2 AND kind = 'question_answered' AND topic IS NOT NULL"
    " AND topic <> '' GROUP BY topic";

struct TopicCounts {
  std::int64_t answered = 0, correct = 0, sum_ms = 0, timed = 0;
  void add(const pqxx::row& r)
  {
    answered += as_int(r[1]);
    correct += as_int(r[2]);
    sum_ms += as_int(r[3]);
    timed += as_int(r[4]);
  }
};

void add_topics(pqxx::transaction_base& txn, util::Micros from, util::Micros to, bool exact,
                std::map<std::string, TopicCounts>& into)
{
  if (from >= to)
    return;
  if (exact || from % util::micros_per_hour != 0 || to % util::micros_per_hour != 0) {
    // Whole hours inside come from the rollup unless exact; the ragged ends from raw rows.
    const util::Micros inner_from = exact ? to : (from + util::micros_per_hour - 1) / util::micros_per_hour * util::micros_per_hour;
    const util::Micros inner_to = exact ? to : util::floor_to(to, util::micros_per_hour);
    if (!exact && inner_from < inner_to) {
      for (const auto& r : txn.exec_params(topic_rollup_sql, ts(inner_from), ts(inner_to)))
        into[r[0].as<std::string>()].add(r);
      for (auto [a, b] : {std::pair{from, inner_from}, std::pair{inner_to, to}})
        if (a < b)
          for (const auto& r : txn.exec_params(topic_raw_sql, ts(a), ts(b)))
            into[r[0].as<std::string>()].add(r);
      return;
    }
    for (const auto& r : txn.exec_params(topic_raw_sql, ts(from), ts(to)))
      into[r[0].as<std::string>()].add(r);
    return;
  }
  for (const auto& r : txn.exec_params(topic_rollup_sql, ts(from), ts(to)))
    into[r[0].as<std::string>()].add(r);
}

} // namespace

void generate_learning(pqxx::transaction_base& txn, const GenerateRequest& request, bool exact, Report& out)
{
  const Period& p = request.period;
  const pqxx::row t =
      exact ? txn.exec_params1(
                  "SELECT count(*) FILTER (WHERE kind = 'question_answered'),"
                  " count(*) FILTER (WHERE kind = 'question_answered' AND correct),"
                  " coalesce(sum(answer_ms) FILTER (WHERE kind = 'question_answered'), 0),"
                  " count(answer_ms) FILTER (WHERE kind = 'question_answered'),"
                  " count(*) FILTER (WHERE kind = 'mock_test_completed'),"
                  " count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86)"
                  " FROM dm.learning_events WHERE ts >= $1 AND ts < $2",
                  ts(p.from), ts(p.to))
            : txn.exec_params1("SELECT coalesce(sum(answered), 0), coalesce(sum(correct), 0), coalesce(sum(sum_answer_ms), 0),"
                               " coalesce(sum(timed), 0), coalesce(sum(mock_attempts), 0), coalesce(sum(mock_passes), 0)"
                               " FROM dm.learning_hourly WHERE hour >= $1 AND hour < $2",
                               ts(p.from), ts(p.to));
  const auto answered = as_int(t[0]);
  const auto correct = as_int(t[1]);
  const auto mock_tests = as_int(t[4]);
  out.kpis = {int_kpi("questions_answered", "Questions answered", answered),
              num_kpi("accuracy", "Accuracy", ratio(static_cast<double>(correct), static_cast<double>(answered)), ColumnType::ratio),
              num_kpi("avg_answer_ms", "Average answer (ms)", ratio(as_double(t[2]), as_double(t[3]))),
              int_kpi("mock_tests", "Mock tests", mock_tests),
              num_kpi("mock_pass_rate", "Mock pass rate", ratio(as_double(t[5]), static_cast<double>(mock_tests)), ColumnType::ratio)};

  // Topics over the period, and over its two halves split at the midpoint.
  const util::Micros mid = p.from + (p.to - p.from) / 2;
  std::map<std::string, TopicCounts> whole, first, second;
  add_topics(txn, p.from, p.to, exact, whole);
  add_topics(txn, p.from, mid, exact, first);
  add_topics(txn, mid, p.to, exact, second);
  std::map<std::string, std::int64_t> users;
  for (const auto& r : txn.exec_params(
           exact ? "SELECT topic, count(DISTINCT user_id) FROM dm.learning_events WHERE ts >= $1 AND ts < $2"
                   " AND kind = 'question_answered' AND topic <> '' GROUP BY topic"
                 : "SELECT topic, count(DISTINCT user_id) FROM dm.learning_hourly WHERE hour >= $1 AND hour < $2"
                   " AND topic <> '' AND answered > 0 GROUP BY topic",
           ts(p.from), ts(p.to)))
    users[r[0].as<std::string>()] = as_int(r[1]);

  auto accuracy_of = [](const std::map<std::string, TopicCounts>& m, const std::string& topic) {
    const auto it = m.find(topic);
    return it == m.end() ? 0.0 : ratio(static_cast<double>(it->second.correct), static_cast<double>(it->second.answered));
  };
  Section topics;
  topics.name = "topics";
  topics.title = "Topics";
  topics.columns = {{"topic", ColumnType::text, "Topic"},
                    {"answered", ColumnType::integer, "Answered"},
                    {"accuracy", ColumnType::ratio, "Accuracy"},
                    {"avg_answer_ms", ColumnType::number, "Avg answer (ms)"},
                    {"users", ColumnType::integer, "Users"},
                    {"accuracy_change", ColumnType::number, "Accuracy change"}};
  topics.chart = Chart::bar;
  topics.chart_x = "topic";
  topics.chart_y = {"accuracy"};
  for (const auto& [topic, c] : whole)
    topics.rows.push_back({topic, c.answered, ratio(static_cast<double>(c.correct), static_cast<double>(c.answered)),
                           ratio(static_cast<double>(c.sum_ms), static_cast<double>(c.timed)), users[topic],
                           accuracy_of(second, topic) - accuracy_of(first, topic)});
  out.sections.push_back(std::move(topics));

  // Struggling topics, lowest accuracy first, with the users who struggle there.
  std::map<std::string, std::int64_t> strugglers;
  for (const auto& r : txn.exec_params(
           exact ? "SELECT topic, count(*) FROM (SELECT topic, user_id FROM dm.learning_events"
                   " WHERE ts >= $1 AND ts < $2 AND kind = 'question_answered' AND topic <> ''"
                   " GROUP BY topic, user_id HAVING count(*) >= 10"
                   " AND count(*) FILTER (WHERE correct)::float8 / count(*) < 0.60) s GROUP BY topic"
                 : "SELECT topic, count(*) FROM (SELECT topic, user_id FROM dm.learning_hourly"
                   " WHERE hour >= $1 AND hour < $2 AND topic <> '' GROUP BY topic, user_id"
                   " HAVING sum(answered) >= 10 AND sum(correct)::float8 / sum(answered) < 0.60) s GROUP BY topic",
           ts(p.from), ts(p.to)))
    strugglers[r[0].as<std::string>()] = as_int(r[1]);
  std::vector<std::pair<double, std::string>> low;
  for (const auto& [topic, c] : whole) {
    const double acc = ratio(static_cast<double>(c.correct), static_cast<double>(c.answered));
    if (acc < request.struggling_accuracy)
      low.emplace_back(acc, topic);
  }
  std::sort(low.begin(), low.end());
  Section struggling;
  struggling.name = "struggling";
  struggling.title = fmt::format("Struggling topics (accuracy below {:.0f} %)", request.struggling_accuracy * 100);
  struggling.columns = {{"topic", ColumnType::text, "Topic"},
                        {"accuracy", ColumnType::ratio, "Accuracy"},
                        {"answered", ColumnType::integer, "Answered"},
                        {"struggling_users", ColumnType::integer, "Struggling users"}};
  for (const auto& [acc, topic] : low)
    struggling.rows.push_back({topic, acc, whole[topic].answered, strugglers[topic]});
  out.sections.push_back(std::move(struggling));
}

} // namespace dm::report::detail
