#pragma once
// A private PostgreSQL cluster under the state folder (DESIGN 1): initdb on
// first use, a Unix socket in <state>/run, no TCP listener. Running as root,
// the cluster runs as the `postgres` system user.
//
// Several processes may share one cluster. Each holds a shared lock on
// <state>/run/users.lock while it uses it; start and stop are serialised by
// <state>/run/start.lock. On release a process stops the cluster only when
// stop_when_unused is set and no other process holds the shared lock, so a
// daemon keeps the cluster alive for the CLI and vice versa.
//
// Not thread-safe; one object per process.

#include <filesystem>
#include <string>

namespace dm::db {

class EmbeddedCluster {
public:
  struct Options {
    std::filesystem::path state_dir;
    /// Stop the cluster in the destructor when no other process uses it.
    bool stop_when_unused = true;
    /// initdb --no-sync and fsync=off: for throw-away clusters (tests).
    bool unsafe_fast = false;
    std::string database = "dmanalytics";
  };

  /// Starts the cluster (initdb first when there is none), or joins a running
  /// one. Recovers a stale postmaster.pid left by a crash. Throws with the
  /// tail of the server log when PostgreSQL does not come up.
  explicit EmbeddedCluster(Options options);
  ~EmbeddedCluster();

  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  /// libpq connection string for `database` (created on first start).
  std::string connection_string() const;
  /// libpq connection string for another database of the cluster.
  std::string connection_string(const std::string& database) const;

  /// True when this process started the server (rather than joining it).
  bool started_here() const noexcept { return started_here_; }

  const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
  const std::filesystem::path& socket_dir() const noexcept { return socket_dir_; }
  const std::filesystem::path& log_file() const noexcept { return log_file_; }

  /// Stops the server now, whoever else uses it (pg_ctl stop -m fast).
  /// Used by `dm_test_cluster stop`.
  void stop_now();

private:
  void start_or_join();
  bool server_answers() const;
  void recover_stale_pid();
  void init_cluster();
  void start_server();
  void ensure_database();
  void release() noexcept;

  Options options_;
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
  std::filesystem::path log_file_;
  int start_lock_fd_ = -1;
  int users_lock_fd_ = -1;
  bool started_here_ = false;
  bool stopped_ = false;
};

/// `/usr/lib/postgresql/NN/bin` (from pg_config, or the newest installed).
std::filesystem::path postgres_bin_dir();

} // namespace dm::db
