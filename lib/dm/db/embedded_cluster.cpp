#include "dm/db/embedded_cluster.hpp"

#include "dm/util/process.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace dm::db {

namespace {

constexpr int socket_port = 5432; // private socket folder: the number only names the socket

struct PostgresUser {
  uid_t uid;
  gid_t gid;
};

/// When running as root the cluster belongs to the `postgres` system user.
std::optional<PostgresUser> postgres_user()
{
  if (geteuid() != 0)
    return std::nullopt;
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr)
    throw std::runtime_error(
        "running as root, but there is no 'postgres' system user to run the embedded "
        "PostgreSQL (PostgreSQL refuses to run as root): install the postgresql package");
  return PostgresUser{pw->pw_uid, pw->pw_gid};
}

std::vector<std::string> as_cluster_user(std::vector<std::string> argv)
{
  if (geteuid() == 0)
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  return argv;
}

void chown_to(const fs::path& p, const std::optional<PostgresUser>& user)
{
  if (user && chown(p.c_str(), user->uid, user->gid) != 0)
    throw std::system_error(errno, std::generic_category(), "chown " + p.string());
}

/// Every ancestor of `dir` must be searchable by the cluster's user.
void check_reachable(const fs::path& dir, const std::optional<PostgresUser>& user)
{
  if (!user)
    return;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) == 0) {
      const bool searchable = (st.st_mode & S_IXOTH) != 0 ||
                              (st.st_uid == user->uid && (st.st_mode & S_IXUSR) != 0) ||
                              (st.st_gid == user->gid && (st.st_mode & S_IXGRP) != 0);
      if (!searchable)
        throw std::runtime_error(fmt::format(
            "the state folder {} is inside {}, which the 'postgres' user cannot enter "
            "(mode {:o}); choose another --state-dir (e.g. /var/lib/dmanalytics)",
            dir.string(), p.string(), st.st_mode & 07777));
    }
    if (p == p.root_path())
      break;
  }
}

int open_lock(const fs::path& p)
{
  const int fd = open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + p.string());
  return fd;
}

void lock(int fd, int how)
{
  while (flock(fd, how) != 0) {
    if (errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "flock");
  }
}

std::string tail_of(const fs::path& file, std::size_t max_lines = 15)
{
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::move(line));
  std::string out;
  for (std::size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
    out += "\n  " + lines[i];
  return out;
}

std::string trim(std::string s)
{
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

fs::path postgres_bin_dir()
{
  try {
    auto r = util::run_process({"pg_config", "--bindir"});
    if (r.exit_code == 0) {
      fs::path dir = trim(r.output);
      if (util::is_executable((dir / "initdb").string()))
        return dir;
    }
  } catch (const std::system_error&) {
    // no pg_config (libpq-dev not installed): look in Debian's folders
  }
  fs::path best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    if (util::is_executable((bin / "initdb").string()) && (best.empty() || bin > best))
      best = bin;
  }
  if (best.empty())
    throw std::runtime_error("PostgreSQL server programs (initdb, pg_ctl) not found: install the "
                             "postgresql package, or set database.url to an existing server");
  return best;
}

EmbeddedCluster::EmbeddedCluster(Options options)
    : options_(std::move(options)),
      data_dir_(options_.state_dir / "pg"),
      socket_dir_(options_.state_dir / "run"),
      log_file_(options_.state_dir / "postgresql.log")
{
  if (options_.state_dir.empty())
    throw std::invalid_argument("embedded PostgreSQL: no state folder");
  try {
    start_or_join();
  } catch (...) {
    release();
    std::throw_with_nested(std::runtime_error(
        fmt::format("cannot run the embedded PostgreSQL under {}", options_.state_dir.string())));
  }
}

EmbeddedCluster::~EmbeddedCluster()
{
  release();
}

std::string EmbeddedCluster::connection_string() const
{
  return connection_string(options_.database);
}

std::string EmbeddedCluster::connection_string(const std::string& database) const
{
  return fmt::format("host={} port={} user=postgres dbname={}", socket_dir_.string(), socket_port,
                     database);
}

bool EmbeddedCluster::server_answers() const
{
  return PQping(connection_string("postgres").c_str()) == PQPING_OK;
}

void EmbeddedCluster::start_or_join()
{
  const auto user = postgres_user();
  fs::create_directories(options_.state_dir);
  if (user) {
    // postgres must traverse the state folder to reach data, socket and log.
    fs::permissions(options_.state_dir, fs::perms::owner_all | fs::perms::group_read |
                                            fs::perms::group_exec | fs::perms::others_read |
                                            fs::perms::others_exec);
    check_reachable(options_.state_dir, user);
  }
  fs::create_directories(socket_dir_);
  chown_to(socket_dir_, user);

  start_lock_fd_ = open_lock(socket_dir_ / "start.lock");
  users_lock_fd_ = open_lock(socket_dir_ / "users.lock");
  lock(start_lock_fd_, LOCK_EX);
  lock(users_lock_fd_, LOCK_SH);
  struct Unlock {
    int fd;
    ~Unlock() { flock(fd, LOCK_UN); }
  } unlock_start{start_lock_fd_};

  if (server_answers()) {
    ensure_database();
    return;
  }
  if (!fs::exists(data_dir_ / "PG_VERSION"))
    init_cluster();
  recover_stale_pid();
  start_server();
  started_here_ = true;
  ensure_database();
}

void EmbeddedCluster::init_cluster()
{
  const auto user = postgres_user();
  std::error_code ec;
  // A folder without PG_VERSION is what an interrupted initdb leaves: ours to clear.
  fs::remove_all(data_dir_, ec);
  fs::create_directories(data_dir_);
  fs::permissions(data_dir_, fs::perms::owner_all);
  chown_to(data_dir_, user);
  spdlog::info("creating the embedded PostgreSQL cluster in {}", data_dir_.string());
  std::vector<std::string> argv{(postgres_bin_dir() / "initdb").string(),
                                "-D", data_dir_.string(), "-U", "postgres", "-A", "trust",
                                "-E", "UTF8", "--locale=C.UTF-8"};
  if (options_.unsafe_fast)
    argv.emplace_back("--no-sync");
  auto r = util::run_process(as_cluster_user(argv));
  if (r.exit_code != 0)
    throw std::runtime_error(fmt::format("initdb failed (exit {}):\n{}", r.exit_code, trim(r.output)));
}

void EmbeddedCluster::recover_stale_pid()
{
  const fs::path pid_file = data_dir_ / "postmaster.pid";
  if (!fs::exists(pid_file))
    return;
  std::ifstream in(pid_file);
  long pid = 0;
  in >> pid;
  bool alive = false;
  if (pid > 0 && kill(static_cast<pid_t>(pid), 0) == 0) {
    // The pid may have been reused by an unrelated process after a crash or reboot.
    std::ifstream comm(fmt::format("/proc/{}/comm", pid));
    std::string name;
    std::getline(comm, name);
    alive = name.rfind("postgres", 0) == 0;
  }
  if (alive) {
    // A server that is starting up or shutting down: give it time to answer.
    for (int i = 0; i < 100 && fs::exists(pid_file); ++i) {
      if (server_answers())
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (fs::exists(pid_file) && kill(static_cast<pid_t>(pid), 0) == 0)
      throw std::runtime_error(fmt::format(
          "a PostgreSQL server (pid {}) holds {} but does not answer on {}; log:{}", pid,
          data_dir_.string(), socket_dir_.string(), tail_of(log_file_)));
    return;
  }
  spdlog::warn("removing stale {} (pid {} is gone) left by an unclean stop", pid_file.string(), pid);
  std::error_code ec;
  fs::remove(pid_file, ec);
  fs::remove(socket_dir_ / fmt::format(".s.PGSQL.{}.lock", socket_port), ec);
  fs::remove(socket_dir_ / fmt::format(".s.PGSQL.{}", socket_port), ec);
}

void EmbeddedCluster::start_server()
{
  const auto user = postgres_user();
  if (!fs::exists(log_file_))
    std::ofstream{log_file_};
  chown_to(log_file_, user);
  std::string server_options = fmt::format(
      "-k {} -p {} -c listen_addresses='' -c TimeZone=UTC -c log_timezone=UTC"
      // Ingest holds an advisory lock per rollup bucket until it commits.
      " -c max_locks_per_transaction=256"
      // A load writes its rollups on a second connection, committed with a
      // prepared transaction (db/two_phase.hpp).
      " -c max_prepared_transactions=16",
      socket_dir_.string(),
      socket_port);
  if (options_.unsafe_fast)
    server_options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  if (server_answers())
    return;
  auto r = util::run_process(as_cluster_user({(postgres_bin_dir() / "pg_ctl").string(), "-D",
                                              data_dir_.string(), "-l", log_file_.string(), "-w",
                                              "-t", "60", "-o", server_options, "start"}));
  if (r.exit_code != 0 || !server_answers())
    throw std::runtime_error(fmt::format("pg_ctl start failed (exit {}): {}\nserver log:{}",
                                         r.exit_code, trim(r.output), tail_of(log_file_)));
  spdlog::debug("embedded PostgreSQL started on {}", socket_dir_.string());
}

void EmbeddedCluster::ensure_database()
{
  pqxx::connection conn{connection_string("postgres")};
  pqxx::nontransaction txn{conn};
  if (txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", options_.database).empty())
    txn.exec0("CREATE DATABASE " + txn.quote_name(options_.database));
}

void EmbeddedCluster::stop_now()
{
  if (!fs::exists(data_dir_ / "postmaster.pid"))
    return;
  auto r = util::run_process(as_cluster_user(
      {(postgres_bin_dir() / "pg_ctl").string(), "-D", data_dir_.string(), "-m", "fast", "-w", "stop"}));
  if (r.exit_code != 0 && server_answers())
    throw std::runtime_error(fmt::format("pg_ctl stop failed: {}", trim(r.output)));
  stopped_ = true;
}

void EmbeddedCluster::release() noexcept
{
  if (users_lock_fd_ < 0) {
    if (start_lock_fd_ >= 0)
      close(start_lock_fd_);
    start_lock_fd_ = -1;
    return;
  }
  try {
    lock(start_lock_fd_, LOCK_EX);
    // Give up the shared lock, then see whether anybody else still holds one.
    flock(users_lock_fd_, LOCK_UN);
    if (options_.stop_when_unused && !stopped_ && flock(users_lock_fd_, LOCK_EX | LOCK_NB) == 0) {
      spdlog::debug("stopping the embedded PostgreSQL (no other user)");
      stop_now();
    }
  } catch (const std::exception& e) {
    spdlog::warn("embedded PostgreSQL: {}", e.what());
  }
  flock(users_lock_fd_, LOCK_UN);
  flock(start_lock_fd_, LOCK_UN);
  close(users_lock_fd_);
  close(start_lock_fd_);
  users_lock_fd_ = start_lock_fd_ = -1;
}

} // namespace dm::db
