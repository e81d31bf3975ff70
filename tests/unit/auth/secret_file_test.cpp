#include "temp_dir.hpp"

#include "dm/auth/secret_file.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using dm::auth::load_or_create_secret;
using dm::auth::load_secret;
using Catch::Matchers::Contains;

namespace {

std::string read_file(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& file, const std::string& text, fs::perms perms = fs::perms::owner_read | fs::perms::owner_write)
{
  std::ofstream(file, std::ios::binary) << text;
  fs::permissions(file, perms);
}

bool is_base64url(const std::string& s)
{
  return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos;
}

/// Only the secret itself: no temporary files left behind.
std::vector<std::string> names_in(const fs::path& dir)
{
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  return names;
}

struct UmaskGuard {
  mode_t saved;
  explicit UmaskGuard(mode_t mask) : saved(::umask(mask)) {}
  ~UmaskGuard() { ::umask(saved); }
};

} // namespace

TEST_CASE("a missing secret is created: 48 random bytes in base64url, mode 0600", "[auth][secret]")
{
  const dm::test::TempDir dir;
  const auto file = dir.path() / "state" / "deeper" / "jwt.secret";
  std::string secret;
  {
    // A permissive umask must not widen the file's mode.
    const UmaskGuard umask_guard(0);
    secret = load_or_create_secret(file);
  }
  CHECK(secret.size() == 64);
  CHECK(is_base64url(secret));
  CHECK(read_file(file) == secret + "\n");
  struct stat st{};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(names_in(file.parent_path()) == std::vector<std::string>{"jwt.secret"});

  // Read back, not regenerated.
  CHECK(load_or_create_secret(file) == secret);
  CHECK(load_secret(file) == secret);
  // Another file gets another secret.
  CHECK(load_or_create_secret(dir.path() / "other.secret") != secret);
}

TEST_CASE("load_secret strips exactly one trailing newline", "[auth][secret]")
{
  const dm::test::TempDir dir;
  const std::string body(40, 'k');
  write_file(dir.path() / "a", body + "\n");
  CHECK(load_secret(dir.path() / "a") == body);
  write_file(dir.path() / "b", body);
  CHECK(load_secret(dir.path() / "b") == body);
  write_file(dir.path() / "c", body + "\n\n");
  CHECK(load_secret(dir.path() / "c") == body + "\n");
  write_file(dir.path() / "d", "  " + body + " \n");
  CHECK(load_secret(dir.path() / "d") == "  " + body + " ");
}

TEST_CASE("unusable secret files are refused with their name", "[auth][secret]")
{
  const dm::test::TempDir dir;
  const auto missing = dir.path() / "missing.secret";
  CHECK_THROWS_MATCHES(load_secret(missing), dm::UsageError,
                       Catch::Matchers::Message("cannot read JWT secret file " + missing.string() + ": No such file or directory"));
  CHECK_FALSE(fs::exists(missing));

  const auto short_file = dir.path() / "short.secret";
  write_file(short_file, std::string(31, 'k') + "\n");
  CHECK_THROWS_MATCHES(load_secret(short_file), dm::UsageError,
                       Catch::Matchers::Message("JWT secret file " + short_file.string() +
                                                " holds 31 bytes; HS256 needs at least 32"));
  // An existing short file is an error, never silently replaced.
  CHECK_THROWS_AS(load_or_create_secret(short_file), dm::UsageError);
  CHECK(read_file(short_file) == std::string(31, 'k') + "\n");

  CHECK_THROWS_WITH(load_secret(dir.path()), Contains("is not a regular file"));
  CHECK_THROWS_WITH(load_or_create_secret(dir.path()), Contains(dir.path().string()));

  const auto huge = dir.path() / "huge.secret";
  write_file(huge, std::string(70000, 'k'));
  CHECK_THROWS_WITH(load_secret(huge), Contains("larger than"));

  if (::geteuid() != 0) {
    const auto unreadable = dir.path() / "unreadable.secret";
    write_file(unreadable, std::string(40, 'k'), fs::perms::none);
    CHECK_THROWS_WITH(load_secret(unreadable), Contains(unreadable.string()) && Contains("Permission denied"));
  }
}

TEST_CASE("a folder that cannot be created is reported", "[auth][secret]")
{
  const dm::test::TempDir dir;
  write_file(dir.path() / "file", "x");
  CHECK_THROWS_AS(load_or_create_secret(dir.path() / "file" / "sub" / "jwt.secret"), dm::UsageError);
}

TEST_CASE("threads racing to create the secret all get the same one", "[auth][secret]")
{
  const dm::test::TempDir dir;
  const auto file = dir.path() / "jwt.secret";
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = load_or_create_secret(file); });
  for (auto& t : threads)
    t.join();
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == 1);
  CHECK(got.front() == load_secret(file));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"jwt.secret"});
}

TEST_CASE("processes racing to create the secret all get the same one", "[auth][secret]")
{
  const dm::test::TempDir dir;
  const auto file = dir.path() / "jwt.secret";
  constexpr int children = 6;
  int start[2];
  REQUIRE(::pipe(start) == 0);
  std::vector<std::pair<pid_t, int>> running;
  for (int i = 0; i < children; ++i) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(out[0]);
      char go = 0;
      // Every child blocks here until the parent closes the pipe: they start together.
      (void)!::read(start[0], &go, 1);
      int status = 0;
      try {
        const std::string secret = load_or_create_secret(file);
        status = ::write(out[1], secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) ? 0 : 2;
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    ::close(out[1]);
    running.emplace_back(pid, out[0]);
  }
  ::close(start[0]);
  ::close(start[1]);
  std::set<std::string> secrets;
  for (const auto& [pid, fd] : running) {
    std::string secret;
    char buffer[256];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
      secret.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(secret.size() == 64);
    secrets.insert(secret);
  }
  CHECK(secrets.size() == 1);
  CHECK(*secrets.begin() == load_secret(file));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"jwt.secret"});
}

TEST_CASE("the secret file comes from the config or the state folder", "[auth][secret]")
{
  dm::config::Config config;
  CHECK(dm::auth::secret_path(config, "/var/lib/dm") == fs::path("/var/lib/dm/jwt.secret"));
  config.auth.jwt_secret_file = "/etc/dmanalytics/jwt.secret";
  CHECK(dm::auth::secret_path(config, "/var/lib/dm") == fs::path("/etc/dmanalytics/jwt.secret"));
  config.auth.jwt_secret_file = "secrets/jwt";
  config.source = "/etc/dmanalytics/dmanalytics.toml";
  CHECK(dm::auth::secret_path(config, "/var/lib/dm") == fs::path("/etc/dmanalytics/secrets/jwt"));
  config.source.clear();
  CHECK(dm::auth::secret_path(config, "/var/lib/dm") == fs::path("secrets/jwt"));
}

TEST_CASE("a configured secret file must exist; the default one is created", "[auth][secret]")
{
  const dm::test::TempDir dir;
  dm::config::Config config;
  config.auth.jwt_secret_file = (dir.path() / "configured.secret").string();
  CHECK_THROWS_WITH(dm::auth::configured_secret(config, dir.path() / "state"), Contains("configured.secret"));
  CHECK_FALSE(fs::exists(dir.path() / "configured.secret"));

  config.auth.jwt_secret_file.clear();
  const auto secret = dm::auth::configured_secret(config, dir.path() / "state");
  CHECK(load_secret(dir.path() / "state" / "jwt.secret") == secret);
}
