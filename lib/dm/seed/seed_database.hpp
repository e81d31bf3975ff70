#pragma once
// Loads generated data into the database through the ingest Loader (COPY +
// rollups), every kind in one transaction: a seed is all or nothing.

#include "dm/db/two_phase.hpp"
#include "dm/ingest/loader.hpp"
#include "dm/seed/generator.hpp"

#include <functional>
#include <vector>

namespace dm::seed {

/// Called with (kind, rows so far, estimated total rows of that kind).
using SeedProgress = std::function<void(ingest::Kind, std::uint64_t, std::uint64_t)>;

struct SeedResult {
  std::vector<ingest::LoadSummary> loaded; ///< one per kind, in load order
  double seconds = 0;
};

/// Generates and loads every kind (users, learning, payments, requests, host).
/// With `second_connection` (and a server that allows prepared transactions)
/// the rollups are written on a second connection while the raw rows go in,
/// committed together (db/two_phase.hpp).
SeedResult seed_database(db::PgConnection& conn, const SeedOptions& options,
                         const SeedProgress& progress = {}, const db::ConnectionFactory& second_connection = {});

/// True when none of the raw tables has a row.
bool database_is_empty(db::PgConnection& conn);

} // namespace dm::seed
