#include "dm/util/process.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace dm::util {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv)
{
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd)
{
  if (argv.empty())
    throw std::invalid_argument("run_process: empty argv");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  // posix_spawn_file_actions_addchdir_np: glibc >= 2.29.
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

  auto args = c_argv(argv);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::system_error(rc, std::generic_category(), "cannot run " + argv[0]);
  }

  ProcessResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0)
      result.output.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  close(fds[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

void exec_process(const std::vector<std::string>& argv)
{
  auto args = c_argv(argv);
  execvp(args[0], args.data());
  throw std::system_error(errno, std::generic_category(), "cannot run " + argv.at(0));
}

bool is_executable(const std::string& path)
{
  return access(path.c_str(), X_OK) == 0;
}

} // namespace dm::util
