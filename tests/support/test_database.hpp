#pragma once
// A fresh database per test case, cloned from a migrated template in the one
// test cluster of the run (started by `dm_test_cluster start`, or on first use
// when the binary runs alone). Dropped in the destructor.

#include "dm/db/database.hpp"

#include <pqxx/pqxx>

#include <memory>
#include <string>

namespace dm::test {

class TestDatabase {
public:
  TestDatabase();
  ~TestDatabase();

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// libpq connection string of this test's database.
  const std::string& url() const noexcept { return url_; }
  /// A connection owned by this object.
  pqxx::connection& connection();
  /// A new connection (for concurrency tests).
  std::unique_ptr<pqxx::connection> connect() const;
  /// Runs a query that returns one value, as text ("" for NULL).
  std::string scalar(const std::string& sql);
  /// The name of the database.
  const std::string& name() const noexcept { return name_; }

  /// The shared cluster (started or joined on first use).
  static dm::db::Database& cluster();

private:
  std::string name_;
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

/// A digest of every table of the `dm` schema but the bookkeeping ones
/// (migrations, prepared commits), by table: equal for equal contents.
std::string schema_fingerprint(TestDatabase& db);

/// The migrated template every test database is cloned from.
const std::string& template_database_name();
/// The test cluster's state folder (outside the checkout, 0755).
std::string test_state_dir();
/// Folder of the built binaries (build/bin).
std::string bin_dir();

} // namespace dm::test
