#include "dm/auth/secret_file.hpp"

#include "dm/auth/base64url.hpp"
#include "dm/util/error.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace dm::auth {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t min_secret_bytes = 32;
constexpr std::size_t max_secret_file_bytes = 64 * 1024;
constexpr std::size_t generated_secret_bytes = 48;

class Fd {
public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd()
  {
    if (fd_ >= 0)
      ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  /// Closes now, reporting the error close() may give for a written file.
  int close() noexcept
  {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

private:
  int fd_;
};

[[noreturn]] void cannot(std::string_view what, const fs::path& file, int error)
{
  throw UsageError(fmt::format("cannot {} JWT secret file {}: {}", what, file.string(), std::strerror(error)));
}

/// nullopt when the file does not exist; throws on any other failure.
std::optional<std::string> read_secret_file(const fs::path& file)
{
  const Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    cannot("read", file, errno);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0)
    cannot("read", file, errno);
  if (!S_ISREG(st.st_mode))
    throw UsageError(fmt::format("JWT secret file {} is not a regular file", file.string()));
  if ((st.st_mode & 077) != 0)
    spdlog::warn("JWT secret file {} may be read by other users (mode {:04o}); chmod 600 it", file.string(),
                 st.st_mode & 07777);
  std::string text;
  std::array<char, 4096> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      cannot("read", file, errno);
    }
    if (n == 0)
      break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
    if (text.size() > max_secret_file_bytes)
      throw UsageError(fmt::format("JWT secret file {} is larger than {} bytes", file.string(), max_secret_file_bytes));
  }
  if (!text.empty() && text.back() == '\n')
    text.pop_back();
  if (text.size() < min_secret_bytes)
    throw UsageError(fmt::format("JWT secret file {} holds {} bytes; HS256 needs at least {}", file.string(),
                                 text.size(), min_secret_bytes));
  return text;
}

void write_all(int fd, std::string_view bytes, const fs::path& file)
{
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      cannot("write", file, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string random_secret()
{
  std::array<unsigned char, generated_secret_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("cannot generate a JWT secret: the OpenSSL random generator failed");
  const std::string text = base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return text;
}

void sync_folder(const fs::path& folder)
{
  const Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0)
    ::fsync(fd.get());
}

/// Writes a new secret aside and links it into place. Returns false when
/// another process created `file` first.
bool create_secret_file(const fs::path& file, const std::string& secret)
{
  const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    throw UsageError(fmt::format("cannot create the folder {} for the JWT secret: {}", folder.string(), ec.message()));

  std::array<unsigned char, 8> tag{};
  if (RAND_bytes(tag.data(), static_cast<int>(tag.size())) != 1)
    throw std::runtime_error("cannot name a temporary file: the OpenSSL random generator failed");
  const fs::path temp = folder / fmt::format(".{}.{}.tmp", file.filename().string(),
                                             base64url_encode(std::string_view(reinterpret_cast<const char*>(tag.data()), tag.size())));
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0)
    cannot("create", temp, errno);
  struct TempRemover {
    const fs::path& path;
    ~TempRemover() { ::unlink(path.c_str()); }
  } remover{temp};
  // The mode given to open() is subject to the umask; the secret must be
  // 0600 whatever it is, and never wider.
  if (::fchmod(fd.get(), 0600) != 0)
    cannot("create", temp, errno);
  write_all(fd.get(), secret + "\n", temp);
  if (::fsync(fd.get()) != 0 || fd.close() != 0)
    cannot("write", temp, errno);
  // link() fails with EEXIST rather than replacing: the first creator wins
  // and everybody reads a complete file.
  if (::link(temp.c_str(), file.c_str()) != 0) {
    if (errno == EEXIST)
      return false;
    cannot("create", file, errno);
  }
  sync_folder(folder);
  return true;
}

} // namespace

fs::path secret_path(const config::Config& config, const fs::path& state_dir)
{
  if (config.auth.jwt_secret_file.empty())
    return state_dir / "jwt.secret";
  const fs::path configured = config.auth.jwt_secret_file;
  if (configured.is_relative() && !config.source.empty())
    return fs::path(config.source).parent_path() / configured;
  return configured;
}

std::string load_secret(const fs::path& file)
{
  auto secret = read_secret_file(file);
  if (!secret)
    cannot("read", file, ENOENT);
  return std::move(*secret);
}

std::string load_or_create_secret(const fs::path& file)
{
  if (auto secret = read_secret_file(file))
    return std::move(*secret);
  const std::string secret = random_secret();
  if (create_secret_file(file, secret)) {
    spdlog::info("created the JWT secret {}", file.string());
    return secret;
  }
  return load_secret(file);
}

std::string configured_secret(const config::Config& config, const fs::path& state_dir)
{
  const fs::path file = secret_path(config, state_dir);
  return config.auth.jwt_secret_file.empty() ? load_or_create_secret(file) : load_secret(file);
}

} // namespace dm::auth
