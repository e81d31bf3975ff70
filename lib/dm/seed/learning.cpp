// Generator::learning: the learners' sessions, simulated day by day.

#include "dm/seed/catalogue.hpp"
#include "dm/seed/generator.hpp"
#include "dm/seed/learning_model.hpp"
#include "dm/seed/random.hpp"
#include "dm/seed/rhythm.hpp"

#include <algorithm>
#include <cmath>

namespace dm::seed {

namespace {

using ingest::LearningKind;
using util::Micros;
using util::micros_per_day;
using util::micros_per_hour;
using util::micros_per_minute;
using util::micros_per_second;

/// One learning event, compact until it is handed to the sink in time order.
struct Event {
  Micros ts;
  std::int64_t session_id;
  std::int64_t user_id;
  std::int32_t seq; ///< position in the session: orders events with equal ts
  std::int32_t answer_ms;
  float score;
  LearningKind kind;
  std::int8_t topic; ///< index into `topics`, -1 for none
  bool correct;
};

/// What the simulation remembers about a learner from one day to the next.
struct Learner {
  Random random;
  std::array<std::uint32_t, topics.size()> practice{}; ///< questions answered per topic
  std::uint32_t answered = 0;
  Micros busy_until = 0; ///< end of the learner's last session
};

/// Mock tests are for learners who have seen a good part of the catalogue.
constexpr std::uint32_t mock_threshold = 200;
constexpr int mock_questions = 30;

double logistic(double x) noexcept
{
  return 1 / (1 + std::exp(-x));
}

const WeightedIndex& topic_index()
{
  static const WeightedIndex index{[] {
    std::vector<double> weights;
    for (const Topic& t : topics)
      weights.push_back(t.weight);
    return weights;
  }()};
  return index;
}

double mock_probability(const UserProfile& p, int k) noexcept
{
  if (p.engagement == Engagement::core)
    return p.lifetime_days - k < 14 ? 0.35 : 0.12;
  return 0.08;
}

/// Appends one session starting at `start` to `out` (session_id left 0) and
/// returns the instant of its last event.
Micros simulate_session(const UserProfile& p, Learner& learner, int k, Micros start,
                        std::vector<Event>& out)
{
  Random& random = learner.random;
  const WeightedIndex& pick_topic = topic_index();
  const bool mock = learner.answered >= mock_threshold && random.chance(mock_probability(p, k));
  const auto questions =
      mock ? mock_questions : static_cast<int>(10 + random.between(0, 15) + random.between(0, 15));
  const auto primary = pick_topic(random);

  std::int32_t seq = 0;
  const auto push = [&](Micros ts, LearningKind kind) -> Event& {
    return out.emplace_back(Event{ts, 0, p.user_id, seq++, 0, 0, kind, -1, false});
  };
  const auto seconds = [&](double lo, double hi) {
    return static_cast<Micros>(random.uniform(lo, hi) * micros_per_second);
  };

  Micros t = start;
  push(t, LearningKind::session_start);
  t += seconds(2, 8);
  int correct_count = 0;
  for (int q = 0; q < questions; ++q) {
    const std::size_t topic = mock || !random.chance(0.7) ? pick_topic(random) : primary;
    const Topic& spec = topics[topic];
    const double practice = learner.practice[topic];
    const double log_odds =
        p.ability + spec.ease + p.learning_gain * std::log1p(practice / 5) - (mock ? 0.1 : 0.0);
    const bool correct = random.chance(logistic(log_odds));
    // Thinking time shrinks with practice; a wrong answer is often a hesitant one.
    const double think = spec.think_seconds * p.speed * random.lognormal(1.0, 0.45) *
                         (correct ? 1.0 : 1.3) * (1 - 0.3 * std::min(1.0, practice / 80));
    const auto answer_ms =
        static_cast<std::int32_t>(std::clamp(3000 + think * 1000, 3000.0, 40000.0));
    t += answer_ms * util::Micros{1000};
    Event& e = push(t, LearningKind::question_answered);
    e.topic = static_cast<std::int8_t>(topic);
    e.correct = correct;
    e.answer_ms = answer_ms;
    ++learner.practice[topic];
    ++learner.answered;
    correct_count += correct ? 1 : 0;
    // Practice shows the explanation after an answer, longer after a mistake.
    t += mock ? seconds(0.5, 2) : correct ? seconds(1, 4) : seconds(4, 15);
  }
  if (mock) {
    push(t, LearningKind::mock_test_completed).score =
        static_cast<float>(correct_count) / static_cast<float>(mock_questions);
    t += seconds(3, 20);
  } else if (random.chance(0.4)) {
    push(t, LearningKind::lesson_completed).topic = static_cast<std::int8_t>(primary);
    t += seconds(2, 10);
  }
  t += seconds(1, 10);
  push(t, LearningKind::session_end);
  return t;
}

/// Session starts of a learner on an ordinary day: local hours drawn from the
/// learning rhythm, in ascending order.
void draw_session_starts(const UserProfile& p, Random& random, Micros day_start, bool weekend,
                         std::vector<Micros>& starts)
{
  static const WeightedIndex weekday_hours{learning_hour_weights(false)};
  static const WeightedIndex weekend_hours{learning_hour_weights(true)};
  const WeightedIndex& hours = weekend ? weekend_hours : weekday_hours;
  const Micros offset =
      local_offset(countries[p.country].utc_offset_hours, day_start + 12 * micros_per_hour);
  int sessions = 1;
  if (random.chance(second_session_probability))
    sessions += random.chance(third_session_probability) ? 2 : 1;
  starts.clear();
  for (int i = 0; i < sessions; ++i) {
    Micros within = static_cast<Micros>(hours(random)) * micros_per_hour - offset +
                    static_cast<Micros>(random.uniform() * static_cast<double>(micros_per_hour));
    // Local hours just after midnight belong to the end of this UTC day.
    within -= util::floor_to(within, micros_per_day);
    starts.push_back(day_start + within);
  }
  std::sort(starts.begin(), starts.end());
}

void emit(const Event& e, ingest::LearningRecord& row, ingest::RecordSink& sink)
{
  row.ts = e.ts;
  row.user_id = e.user_id;
  row.session_id = e.session_id;
  row.kind = e.kind;
  if (e.topic >= 0) {
    if (!row.topic)
      row.topic.emplace();
    row.topic->assign(topics[static_cast<std::size_t>(e.topic)].name);
  } else {
    row.topic.reset();
  }
  if (e.kind == LearningKind::question_answered) {
    row.correct = e.correct;
    row.answer_ms = e.answer_ms;
  } else {
    row.correct.reset();
    row.answer_ms.reset();
  }
  if (e.kind == LearningKind::mock_test_completed)
    row.score = e.score;
  else
    row.score.reset();
  sink.add(row);
}

} // namespace

void Generator::learning(ingest::RecordSink& sink) const
{
  std::vector<Learner> learners;
  learners.reserve(profiles_.size());
  std::vector<std::size_t> live; // indices of learners who may still learn, in id order
  std::vector<Event> events;     // simulated, not yet emitted
  std::vector<Micros> starts;
  ingest::LearningRecord row;
  std::int64_t next_session_id = 1;
  const std::int64_t first_day = begin_ / micros_per_day;

  for (int d = 0; d < options_.days; ++d) {
    const Micros day_start = begin_ + d * micros_per_day;
    const Micros day_end = day_start + micros_per_day;
    while (learners.size() < profiles_.size() && profiles_[learners.size()].signup_day == d) {
      live.push_back(learners.size());
      learners.push_back(
          Learner{Random(options_.seed, Stream::learning,
                         static_cast<std::uint64_t>(profiles_[learners.size()].user_id))});
    }
    const int weekday = weekday_of(first_day + d);

    for (const std::size_t i : live) {
      const UserProfile& p = profiles_[i];
      Learner& learner = learners[i];
      const int k = d - p.signup_day;
      if (k == 0) {
        if (!learner.random.chance(first_session_probability))
          continue;
        starts.assign(1, p.signup_at + static_cast<Micros>(learner.random.uniform(0.5, 10) *
                                                           static_cast<double>(micros_per_minute)));
      } else {
        if (!learner.random.chance(activity_probability(p, k, weekday)))
          continue;
        draw_session_starts(p, learner.random, day_start, is_weekend(weekday), starts);
      }
      for (Micros start : starts) {
        start =
            std::max(start, learner.busy_until + learner.random.between(2, 30) * micros_per_minute);
        const std::size_t first = events.size();
        const Micros last = simulate_session(p, learner, k, start, events);
        if (last >= end_) {
          // The period ends mid-session: such a session is not part of the data set.
          events.resize(first);
          break;
        }
        learner.busy_until = last;
        for (std::size_t e = first; e < events.size(); ++e)
          events[e].session_id = next_session_id;
        ++next_session_id;
      }
    }
    std::erase_if(live, [&](std::size_t i) {
      return d - profiles_[i].signup_day >= profiles_[i].lifetime_days;
    });

    // Sessions that began today may run past midnight; they wait for tomorrow's
    // batch, which starts no earlier, so the output is ordered overall.
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      if (a.ts != b.ts)
        return a.ts < b.ts;
      return a.session_id != b.session_id ? a.session_id < b.session_id : a.seq < b.seq;
    });
    const bool last_day = d + 1 == options_.days;
    std::size_t n = 0;
    while (n < events.size() && (last_day || events[n].ts < day_end))
      emit(events[n++], row, sink);
    events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

} // namespace dm::seed
