// The learning-outcomes report (DESIGN 5): answers, accuracy, mock tests,
// per-topic results with their change across the period, struggling topics.

#include "dm/report/generator.hpp"
#include "dm/report/sql_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace dm::report::detail {

namespace {

/// Per-topic answers of one time range: from the rollup when its bounds are
/// whole hours, else from raw rows.
constexpr const char* topic_rollup_sql =
    "SELECT topic, sum(answered), sum(correct), sum(sum_answer_ms), sum(timed) FROM dm.learning_topic_hourly"
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
  void add(const TopicCounts& o)
  {
    answered += o.answered;
    correct += o.correct;
    sum_ms += o.sum_ms;
    timed += o.timed;
  }
};

struct TopicUsers {
  std::int64_t users = 0;       ///< with an answer in the topic in the period
  std::int64_t struggling = 0;  ///< with >= 10 answers there and accuracy < 0.60
};

/// Each user's answers per topic (by dm.topics id), summed over rows read in any order.
class PairSums {
public:
  explicit PairSums(pqxx::transaction_base& txn)
  {
    for (const auto& r : txn.exec("SELECT id, name FROM dm.topics"))
      names_.emplace(r[0].as<std::int32_t>(), r[1].as<std::string>());
  }

  void add(std::int64_t user_id, std::int32_t topic, std::int64_t answered, std::int64_t correct)
  {
    add(of_user(user_id), topic, answered, correct);
  }

  /// Adds `sign` times the answers of a user_topic_answers_hourly.topics
  /// value ("id:answered:correct id:answered:correct ...").
  void add_packed(std::int64_t user_id, std::string_view array, int sign)
  {
    std::vector<Sums>& topics = of_user(user_id);
    std::array<std::int64_t, 3> v{};
    std::size_t n = 0;
    const char* p = array.data();
    const char* const end = p + array.size();
    while (p < end) {
      if (*p == '-' || (*p >= '0' && *p <= '9')) {
        p = std::from_chars(p, end, v[n]).ptr;
        if (++n == 3) {
          add(topics, static_cast<std::int32_t>(v[0]), sign * v[1], sign * v[2]);
          n = 0;
        }
      } else {
        ++p;
      }
    }
  }

  /// Users with answers in each topic, and those with >= 10 and accuracy < 0.60.
  std::map<std::string, TopicUsers> counts() const
  {
    std::unordered_map<std::int32_t, TopicUsers> per_topic;
    for (const std::vector<Sums>& topics : users_)
      for (const Sums& s : topics) {
        if (s.answered <= 0)
          continue;
        TopicUsers& t = per_topic[s.topic];
        ++t.users;
        if (s.answered >= 10 && static_cast<double>(s.correct) / static_cast<double>(s.answered) < 0.60)
          ++t.struggling;
      }
    std::map<std::string, TopicUsers> out;
    for (const auto& [topic, t] : per_topic) {
      const auto it = names_.find(topic);
      if (it == names_.end())
        throw std::runtime_error("dm.topics lacks the topic id " + std::to_string(topic));
      out[it->second] = t;
    }
    return out;
  }

private:
  struct Sums {
    std::int32_t topic = 0;
    std::int64_t answered = 0, correct = 0;
  };

  // A user's few topics sit together: one hash lookup per user and row, then
  // a short scan, instead of a lookup per (user, topic) in a large table.
  std::vector<Sums>& of_user(std::int64_t user_id)
  {
    auto [it, inserted] = slots_.try_emplace(user_id, static_cast<std::uint32_t>(users_.size()));
    if (inserted)
      users_.emplace_back();
    return users_[it->second];
  }

  static void add(std::vector<Sums>& topics, std::int32_t topic, std::int64_t answered, std::int64_t correct)
  {
    auto s = std::find_if(topics.begin(), topics.end(), [topic](const Sums& x) { return x.topic == topic; });
    if (s == topics.end())
      s = topics.insert(topics.end(), Sums{topic});
    s->answered += answered;
    s->correct += correct;
  }

  std::unordered_map<std::int32_t, std::string> names_;
  std::unordered_map<std::int64_t, std::uint32_t> slots_; ///< user -> index into users_
  std::vector<std::vector<Sums>> users_;
};

/// Streams `user_id, topics` rows of user_topic_answers_hourly in [from, to) into `sums`.
void add_answer_rows(pqxx::transaction_base& txn, util::Micros from, util::Micros to, int sign, PairSums& sums)
{
  if (from >= to)
    return;
  for_each_copy_line(txn,
                     fmt::format("SELECT user_id, topics FROM dm.user_topic_answers_hourly"
                                 " WHERE hour >= {}::timestamptz AND hour < {}::timestamptz",
                                 txn.quote(ts(from)), txn.quote(ts(to))),
                     [&](std::string_view line) {
                       const std::size_t tab = line.find('\t');
                       std::int64_t user_id = 0;
                       std::from_chars(line.data(), line.data() + tab, user_id);
                       sums.add_packed(user_id, line.substr(tab + 1), sign);
                     });
}

/// Users and struggling users per topic from the rollups. Both need each
/// user's answers per topic over the period, summed here (PostgreSQL's hash
/// aggregate over (user, topic) costs several times more). They are read
/// either from the period's rows of user_topic_answers_hourly (one per user
/// and hour, every topic packed in it), or as the users' all-time totals
/// (user_topic_totals) minus the rows outside the period: the same numbers,
/// from whichever side holds fewer hours of data.
std::map<std::string, TopicUsers> topic_users_rollup(pqxx::transaction_base& txn, const Period& p)
{
  // The hours the rollup holds: those of learning_topic_hourly (every event
  // has a row there, '' for no topic), from the ends of its primary key.
  const pqxx::row span = txn.exec1(
      "SELECT (SELECT extract(epoch FROM hour)::int8 FROM dm.learning_topic_hourly ORDER BY hour LIMIT 1),"
      " (SELECT extract(epoch FROM hour)::int8 FROM dm.learning_topic_hourly ORDER BY hour DESC LIMIT 1)");
  if (span[0].is_null())
    return {};
  const util::Micros first = span[0].as<std::int64_t>() * util::micros_per_second;
  const util::Micros last = span[1].as<std::int64_t>() * util::micros_per_second + util::micros_per_hour;
  const util::Micros inside = std::max<util::Micros>(0, std::min(p.to, last) - std::max(p.from, first));
  const util::Micros outside = (last - first) - inside;
  if (outside == 0) {
    // The period holds every answer: the totals are the period's sums.
    std::map<std::string, TopicUsers> out;
    for (const auto& r : txn.exec("SELECT topic, count(*) FILTER (WHERE answered > 0),"
                                  " count(*) FILTER (WHERE answered >= 10 AND correct::float8 / answered < 0.60)"
                                  " FROM dm.user_topic_totals GROUP BY topic"))
      out[r[0].as<std::string>()] = TopicUsers{as_int(r[1]), as_int(r[2])};
    return out;
  }
  PairSums sums(txn);
  if (outside < inside) {
    for_each_int_row<4>(txn,
                        "SELECT t.user_id, d.id, t.answered, t.correct FROM dm.user_topic_totals t"
                        " JOIN dm.topics d ON d.name = t.topic",
                        [&](const std::array<std::int64_t, 4>& row) {
                          sums.add(row[0], static_cast<std::int32_t>(row[1]), row[2], row[3]);
                        });
    add_answer_rows(txn, first, p.from, -1, sums);
    add_answer_rows(txn, p.to, last, -1, sums);
  } else {
    add_answer_rows(txn, p.from, p.to, 1, sums);
  }
  return sums.counts();
}

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
                               " FROM dm.learning_topic_hourly WHERE hour >= $1 AND hour < $2",
                               ts(p.from), ts(p.to));
  const auto answered = as_int(t[0]);
  const auto correct = as_int(t[1]);
  const auto mock_tests = as_int(t[4]);
  out.kpis = {int_kpi("questions_answered", "Questions answered", answered),
              num_kpi("accuracy", "Accuracy", ratio(static_cast<double>(correct), static_cast<double>(answered)), ColumnType::ratio),
              num_kpi("avg_answer_ms", "Average answer (ms)", ratio(as_double(t[2]), as_double(t[3]))),
              int_kpi("mock_tests", "Mock tests", mock_tests),
              num_kpi("mock_pass_rate", "Mock pass rate", ratio(as_double(t[5]), static_cast<double>(mock_tests)), ColumnType::ratio)};

  // Topics over the period's two halves, split at the midpoint; the whole
  // period is their sum.
  const util::Micros mid = p.from + (p.to - p.from) / 2;
  std::map<std::string, TopicCounts> whole, first, second;
  add_topics(txn, p.from, mid, exact, first);
  add_topics(txn, mid, p.to, exact, second);
  for (const auto* half : {&first, &second})
    for (const auto& [topic, c] : *half)
      whole[topic].add(c);
  std::map<std::string, TopicUsers> per_topic;
  if (exact) {
    for (const auto& r : txn.exec_params(
             "SELECT topic, count(*), count(*) FILTER (WHERE a >= 10 AND c::float8 / a < 0.60) FROM ("
             " SELECT topic, user_id, count(*) AS a, count(*) FILTER (WHERE correct) AS c FROM dm.learning_events"
             " WHERE ts >= $1 AND ts < $2 AND kind = 'question_answered' AND topic <> '' GROUP BY topic, user_id) s"
             " GROUP BY topic",
             ts(p.from), ts(p.to)))
      per_topic[r[0].as<std::string>()] = TopicUsers{as_int(r[1]), as_int(r[2])};
  } else {
    per_topic = topic_users_rollup(txn, p);
  }

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
                           ratio(static_cast<double>(c.sum_ms), static_cast<double>(c.timed)), per_topic[topic].users,
                           accuracy_of(second, topic) - accuracy_of(first, topic)});
  out.sections.push_back(std::move(topics));

  // Struggling topics, lowest accuracy first, with the users who struggle there.
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
    struggling.rows.push_back({topic, acc, whole[topic].answered, per_topic[topic].struggling});
  out.sections.push_back(std::move(struggling));
}

} // namespace dm::report::detail
