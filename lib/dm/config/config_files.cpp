// Where config files and the state folder are: the XDG base directories for
// users, /etc and /var/lib for the system (DESIGN 11 and 12).

#include "dm/config/config.hpp"

#include "dm/util/error.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

namespace dm::config {

namespace {

namespace fs = std::filesystem;

const fs::path system_config_file = "/etc/dmanalytics/dmanalytics.toml";
const fs::path system_state_dir = "/var/lib/dmanalytics";

/// An XDG variable, honoured only when set to an absolute path (as the XDG
/// Base Directory specification asks).
std::optional<fs::path> xdg_dir(const char* variable)
{
  const char* value = std::getenv(variable);
  if (value == nullptr || *value != '/')
    return std::nullopt;
  return fs::path(value);
}

/// $HOME, else the home folder of the password database; nullopt when
/// neither names one.
std::optional<fs::path> home_dir()
{
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/')
    return fs::path(home);
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr && *found->pw_dir == '/')
    return fs::path(found->pw_dir);
  return std::nullopt;
}

[[noreturn]] void cannot_read(const fs::path& file, std::string_view reason)
{
  throw ConfigError(Diagnostic{file.string(), 0, 0, "cannot read config file: " + std::string(reason)});
}

std::string read_whole_file(const fs::path& file)
{
  std::error_code ec;
  if (fs::is_directory(file, ec))
    cannot_read(file, std::strerror(EISDIR));
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> stream(std::fopen(file.c_str(), "rb"));
  if (!stream)
    cannot_read(file, std::strerror(errno));
  std::string text;
  char chunk[65536];
  for (;;) {
    const std::size_t n = std::fread(chunk, 1, sizeof chunk, stream.get());
    text.append(chunk, n);
    if (n < sizeof chunk) {
      if (std::ferror(stream.get()))
        cannot_read(file, std::strerror(errno));
      break;
    }
  }
  return text;
}

} // namespace

Config load_config_file(const std::filesystem::path& file)
{
  if (file.empty())
    throw ConfigError(Diagnostic{"\"\"", 0, 0, "cannot read config file: the path is empty"});
  return parse_config(read_whole_file(file), file.string());
}

std::vector<std::filesystem::path> config_search_path()
{
  std::vector<fs::path> files;
  std::optional<fs::path> user_dir = xdg_dir("XDG_CONFIG_HOME");
  if (!user_dir)
    if (const auto home = home_dir())
      user_dir = *home / ".config";
  if (user_dir)
    files.push_back(*user_dir / "dmanalytics" / "dmanalytics.toml");
  files.push_back(system_config_file);
  return files;
}

Config load_config(const std::optional<std::filesystem::path>& explicit_path)
{
  if (explicit_path)
    return load_config_file(*explicit_path);
  for (const fs::path& file : config_search_path()) {
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    // Only a file that is not there is skipped: one we may not read (or whose
    // folder we may not enter) is reported, because silently running on the
    // defaults would, for instance, start an embedded database instead.
    if (status.type() == fs::file_type::not_found)
      continue;
    if (ec)
      cannot_read(file, ec.message());
    return load_config_file(file);
  }
  return Config{};
}

std::filesystem::path default_state_dir()
{
  if (const auto state = xdg_dir("XDG_STATE_HOME"))
    return *state / "dmanalytics";
  if (geteuid() == 0)
    return system_state_dir;
  if (const auto home = home_dir())
    return *home / ".local" / "state" / "dmanalytics";
  throw UsageError("no home folder to hold the state folder: set XDG_STATE_HOME, DMANALYTICS_STATE_DIR or --state-dir");
}

} // namespace dm::config
