#pragma once
// The rows of the raw tables of DESIGN section 4, as typed C++ values. The
// parsers produce them from CSV/NDJSON, the seed generator produces them
// directly; both hand them to a Loader.

#include "dm/util/time.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dm::ingest {

using util::Micros;

/// What an ingest file holds; one raw table each.
enum class Kind { users, learning, payments, requests, host };

inline constexpr std::array<std::string_view, 5> kind_names{"users", "learning", "payments",
                                                            "requests", "host"};

/// Parses `users|learning|payments|requests|host`; nullopt otherwise.
std::optional<Kind> kind_from_name(std::string_view name) noexcept;
std::string_view name_of(Kind kind) noexcept;
/// The raw table of a kind, schema-qualified (`dm.learning_events`).
std::string_view table_of(Kind kind) noexcept;

enum class Platform { ios, android, web };
inline constexpr std::array<std::string_view, 3> platform_names{"ios", "android", "web"};

enum class Channel { organic, paid_search, social, referral };
inline constexpr std::array<std::string_view, 4> channel_names{"organic", "paid_search", "social",
                                                               "referral"};

enum class LearningKind {
  session_start,
  question_answered,
  lesson_completed,
  mock_test_completed,
  session_end
};
inline constexpr std::array<std::string_view, 5> learning_kind_names{
    "session_start", "question_answered", "lesson_completed", "mock_test_completed", "session_end"};

enum class PaymentKind { subscribe, renew, cancel, refund };
inline constexpr std::array<std::string_view, 4> payment_kind_names{"subscribe", "renew", "cancel",
                                                                    "refund"};

enum class Plan { monthly, quarterly, lifetime };
inline constexpr std::array<std::string_view, 3> plan_names{"monthly", "quarterly", "lifetime"};

/// A mock test counts as passed at this score or above (DESIGN 5).
inline constexpr double mock_pass_score = 0.86;

struct UserRecord {
  std::int64_t user_id = 0;
  std::optional<Micros> signup_at;
  std::optional<std::string> country;
  std::optional<Platform> platform;
  std::optional<Channel> channel;
};

struct LearningRecord {
  Micros ts = 0;
  std::int64_t user_id = 0;
  std::optional<std::int64_t> session_id;
  LearningKind kind = LearningKind::session_start;
  std::optional<std::string> topic;
  std::optional<bool> correct;
  std::optional<std::int32_t> answer_ms;
  std::optional<float> score;
};

struct PaymentRecord {
  Micros ts = 0;
  std::int64_t user_id = 0;
  PaymentKind kind = PaymentKind::subscribe;
  std::optional<Plan> plan;
  std::optional<std::int64_t> amount_cents;
  std::optional<std::string> currency;
};

struct RequestRecord {
  Micros ts = 0;
  std::string service;
  std::optional<std::string> endpoint;
  std::int16_t status = 200;
  float duration_ms = 0;
};

struct HostRecord {
  Micros ts = 0;
  std::string host;
  std::optional<float> cpu;
  std::optional<float> mem;
  std::optional<float> disk;
  std::optional<float> load1;
};

/// Receives typed rows of one kind. Loader implements it; tests may collect.
class RecordSink {
public:
  virtual ~RecordSink() = default;
  virtual void add(const UserRecord& r) = 0;
  virtual void add(const LearningRecord& r) = 0;
  virtual void add(const PaymentRecord& r) = 0;
  virtual void add(const RequestRecord& r) = 0;
  virtual void add(const HostRecord& r) = 0;
};

} // namespace dm::ingest
