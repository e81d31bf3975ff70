#include "dm/seed/seed_database.hpp"

#include <chrono>

namespace dm::seed {

namespace {

/// Forwards to the Loader and reports progress every 64 Ki rows.
class ProgressSink final : public ingest::RecordSink {
public:
  ProgressSink(ingest::Loader& loader, ingest::Kind kind, std::uint64_t estimate, const SeedProgress& progress)
      : loader_(loader), kind_(kind), estimate_(estimate), progress_(progress)
  {
  }
  void add(const ingest::UserRecord& r) override { forward(r); }
  void add(const ingest::LearningRecord& r) override { forward(r); }
  void add(const ingest::PaymentRecord& r) override { forward(r); }
  void add(const ingest::RequestRecord& r) override { forward(r); }
  void add(const ingest::HostRecord& r) override { forward(r); }

private:
  template <typename R> void forward(const R& r)
  {
    loader_.add(r);
    if (progress_ && (loader_.rows() & 0xffff) == 0)
      progress_(kind_, loader_.rows(), estimate_);
  }

  ingest::Loader& loader_;
  ingest::Kind kind_;
  std::uint64_t estimate_;
  const SeedProgress& progress_;
};

} // namespace

SeedResult seed_database(db::PgConnection& conn, const SeedOptions& options, const SeedProgress& progress,
                         const db::ConnectionFactory& second_connection)
{
  const auto started = std::chrono::steady_clock::now();
  const Generator generator(options);
  SeedResult result;
  db::PgTransaction txn{conn};
  const auto companion = db::start_companion(txn, second_connection);
  using ingest::Kind;
  for (Kind kind : {Kind::users, Kind::learning, Kind::payments, Kind::requests, Kind::host}) {
    ingest::Loader loader(conn, kind, companion ? &companion->connection() : nullptr);
    ProgressSink sink(loader, kind, generator.estimated_rows(kind), progress);
    switch (kind) {
    case Kind::users:
      generator.users(sink);
      break;
    case Kind::learning:
      generator.learning(sink);
      break;
    case Kind::payments:
      generator.payments(sink);
      break;
    case Kind::requests:
      generator.requests(sink);
      break;
    case Kind::host:
      generator.host(sink);
      break;
    }
    result.loaded.push_back(loader.finish());
    if (progress)
      progress(kind, result.loaded.back().rows, result.loaded.back().rows);
  }
  ingest::commit_loaded(txn, companion.get(), result.loaded);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

bool database_is_empty(db::PgConnection& conn)
{
  for (ingest::Kind kind : {ingest::Kind::users, ingest::Kind::learning, ingest::Kind::payments,
                            ingest::Kind::requests, ingest::Kind::host})
    if (conn.query_value("SELECT EXISTS (SELECT 1 FROM " + std::string(ingest::table_of(kind)) + ")") == "t")
      return false;
  return true;
}

} // namespace dm::seed
