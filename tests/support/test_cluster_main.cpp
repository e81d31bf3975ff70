// dm_test_cluster start|stop: the ctest fixture around the integration tests.
// start: runs the embedded cluster in the test state folder (recovering one
// left by a crashed run), drops leftover test databases and (re)builds the
// migrated template. stop: stops the server.

#include "test_database.hpp"

#include "dm/util/error.hpp"

#include <fmt/format.h>

#include <cstring>
#include <iostream>

int main(int argc, char** argv)
{
  if (argc != 2 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::cerr << "usage: dm_test_cluster start|stop\n";
    return 2;
  }
  try {
    auto& db = dm::test::TestDatabase::cluster();
    if (std::strcmp(argv[1], "stop") == 0) {
      const_cast<dm::db::EmbeddedCluster*>(db.cluster())->stop_now();
      std::cout << "test cluster stopped\n";
      return 0;
    }
    pqxx::connection admin{db.cluster()->connection_string("postgres")};
    pqxx::nontransaction txn{admin};
    // Leftovers of crashed runs, and templates of older schemas.
    for (const auto& row : txn.exec_params("SELECT datname FROM pg_database WHERE (datname LIKE 'dm\\_test\\_%' OR "
                                           "datname LIKE 'dm\\_tmpl\\_%') AND datname <> $1",
                                           dm::test::template_database_name()))
      txn.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", txn.quote_name(row[0].as<std::string>())));
    std::cout << "test cluster running in " << dm::test::test_state_dir() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dm_test_cluster: " << dm::full_message(e) << "\n";
    return 1;
  }
}
