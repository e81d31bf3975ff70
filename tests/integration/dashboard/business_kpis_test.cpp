// The business KPI dashboard: month to date in UTC, each KPI with its
// previous period, against plain SQL over dm.payments.

#include "dashboard_fixtures.hpp"

#include "dm/dashboard/business_kpis.hpp"

using dm::dashboard::compute_business_kpis;
using dm::dashboard::utc_month_start;
using dm::util::Micros;
using namespace dm::test::dashboard;

namespace {

std::string ts(Micros t)
{
  return dm::util::format_rfc3339_utc(t);
}

/// Revenue (DESIGN 5) of [from, to) by plain SQL.
std::int64_t revenue(dm::test::TestDatabase& db, Micros from, Micros to)
{
  pqxx::nontransaction txn{db.connection()};
  return txn
      .exec_params1("SELECT coalesce(sum(CASE WHEN kind = 'refund' THEN -amount_cents ELSE amount_cents END), 0)"
                    " FROM dm.payments WHERE ts >= $1 AND ts < $2 AND kind IN ('subscribe', 'renew', 'refund')",
                    ts(from), ts(to))[0]
      .as<std::int64_t>();
}

std::int64_t new_paying(dm::test::TestDatabase& db, Micros from, Micros to)
{
  pqxx::nontransaction txn{db.connection()};
  return txn
      .exec_params1("SELECT count(*) FROM (SELECT user_id FROM dm.payments WHERE kind IN ('subscribe', 'renew')"
                    " GROUP BY user_id HAVING min(ts) >= $1 AND min(ts) < $2) f",
                    ts(from), ts(to))[0]
      .as<std::int64_t>();
}

std::int64_t cancels(dm::test::TestDatabase& db, Micros from, Micros to)
{
  pqxx::nontransaction txn{db.connection()};
  return txn
      .exec_params1("SELECT count(*) FROM dm.payments WHERE kind = 'cancel' AND ts >= $1 AND ts < $2", ts(from), ts(to))[0]
      .as<std::int64_t>();
}

/// change and trend of DESIGN 5 from a value and its previous one.
void check_comparison(const boost::json::value& kpi, double value, double previous)
{
  CHECK(close(num(kpi.at("value")), value));
  CHECK(close(num(kpi.at("previous")), previous));
  if (previous == 0) {
    CHECK(kpi.at("change").is_null());
    CHECK(text(kpi.at("trend")) == (value > 0 ? "up" : "flat"));
  } else {
    const double change = (value - previous) / previous;
    CHECK(close(num(kpi.at("change")), change));
    CHECK(text(kpi.at("trend")) == (change > 0.02 ? "up" : change < -0.02 ? "down" : "flat"));
  }
}

} // namespace

TEST_CASE("business kpis: the month start in UTC", "[dashboard]")
{
  CHECK(utc_month_start(at("2026-11-08T14:30:00Z")) == at("2026-11-01"));
  CHECK(utc_month_start(at("2026-11-01T00:00:00Z")) == at("2026-11-01"));
  CHECK(utc_month_start(at("2026-10-31T23:59:59.999999Z")) == at("2026-10-01"));
  CHECK(utc_month_start(at("2028-02-29T12:00:00Z")) == at("2028-02-01"));
  CHECK(utc_month_start(at("1969-12-31T23:00:00Z")) == at("1969-12-01"));
}

TEST_CASE("business kpis: month to date on seeded data equals plain SQL", "[dashboard]")
{
  auto& db = seeded();
  const Micros now = at("2026-11-08T14:30:00Z"); // inside an hour: read from raw rows
  const Micros from = at("2026-11-01");
  const Micros prev_from = from - (now - from);
  const auto out = compute_business_kpis(db.connection(), now);
  CHECK(text(out.at("period").at("from")) == "2026-11-01T00:00:00Z");
  CHECK(text(out.at("period").at("to")) == "2026-11-08T14:30:00Z");

  const auto& kpis = out.at("kpis").as_object();
  for (const char* name : {"revenue_cents", "new_paying_users", "conversion_rate", "churn_rate", "arpu_cents", "mrr_cents"}) {
    INFO(name);
    REQUIRE(kpis.contains(name));
    const auto& k = kpis.at(name).as_object();
    CHECK(k.contains("value"));
    CHECK(k.contains("previous"));
    CHECK(k.contains("change"));
    CHECK(k.contains("trend"));
  }
  const auto rev = revenue(db, from, now);
  REQUIRE(rev > 0); // the seed has paying users in November
  check_comparison(kpis.at("revenue_cents"), static_cast<double>(rev), static_cast<double>(revenue(db, prev_from, from)));
  check_comparison(kpis.at("new_paying_users"), static_cast<double>(new_paying(db, from, now)),
                   static_cast<double>(new_paying(db, prev_from, from)));
  CHECK(integer(kpis.at("revenue_cents").at("value")) == rev);

  // churn_rate = cancels / subscribers at `from`.
  const auto subscribers_at = [&](Micros t) {
    pqxx::nontransaction txn{db.connection()};
    return txn
        .exec_params1("SELECT count(*) FROM (SELECT DISTINCT ON (user_id) kind FROM dm.payments"
                      " WHERE ts < $1 AND kind IN ('subscribe', 'renew', 'cancel') ORDER BY user_id, ts DESC) s"
                      " WHERE kind <> 'cancel'",
                      ts(t))[0]
        .as<double>();
  };
  const double subs_now = subscribers_at(from), subs_before = subscribers_at(prev_from);
  REQUIRE(subs_now > 0);
  check_comparison(kpis.at("churn_rate"), static_cast<double>(cancels(db, from, now)) / subs_now,
                   subs_before == 0 ? 0.0 : static_cast<double>(cancels(db, prev_from, from)) / subs_before);

  // The daily revenue adds up to the KPI; every day is in the period.
  std::int64_t sum = 0;
  for (const auto& d : out.at("daily_revenue").as_array()) {
    sum += integer(d.at("revenue_cents"));
    CHECK(text(d.at("day")) >= "2026-11-01");
    CHECK(text(d.at("day")) <= "2026-11-08");
  }
  CHECK(sum == rev);
  CHECK(out.at("plans").as_array().size() == 3);
}

TEST_CASE("business kpis: an empty database, and the first microsecond of a month", "[dashboard]")
{
  dm::test::TestDatabase db;
  const auto out = compute_business_kpis(db.connection(), at("2026-11-08T14:30:00Z"));
  for (const auto& [name, k] : out.at("kpis").as_object()) {
    INFO(std::string(name));
    CHECK(num(k.at("value")) == 0);
    CHECK(num(k.at("previous")) == 0);
    CHECK(k.at("change").is_null());
    CHECK(text(k.at("trend")) == "flat");
  }
  for (const auto& d : out.at("daily_revenue").as_array())
    CHECK(integer(d.at("revenue_cents")) == 0);
  CHECK(boost::json::serialize(out).find("NaN") == std::string::npos);

  const auto first = compute_business_kpis(db.connection(), at("2026-12-01T00:00:00Z"));
  CHECK(text(first.at("period").at("from")) == "2026-12-01T00:00:00Z");
  CHECK(text(first.at("period").at("to")) == "2026-12-01T00:00:00.000001Z");
  CHECK(first.at("kpis").as_object().size() == 6);
}
