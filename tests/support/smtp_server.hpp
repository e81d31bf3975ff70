#pragma once
// A real SMTP server for tests: aiosmtpd with its Maildir handler on a free
// port of 127.0.0.1, every delivered message saved as a file. Stopping and
// starting again keeps the port, for "server down, then back" cases. Given
// addresses to refuse, it answers RCPT TO for them with 550.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace dm::test {

class SmtpServer {
public:
  /// Starts the server on a free port; throws std::runtime_error naming the
  /// command and its output when it does not accept connections within 10 s.
  explicit SmtpServer(std::vector<std::string> refused_recipients = {})
      : refused_(std::move(refused_recipients)), port_(free_port())
  {
    std::string pattern = (std::filesystem::temp_directory_path() / "dm-smtp-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    dir_ = pattern;
    start();
  }

  ~SmtpServer()
  {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  int port() const noexcept { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  bool running() const noexcept { return pid_ > 0; }

  /// Starts the server (again) on the same port. No-op while it runs.
  void start()
  {
    if (pid_ > 0)
      return;
    const std::string log = (dir_ / "server.log").string();
    const std::vector<std::string> args = command();
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0)
      throw std::system_error(errno, std::generic_category(), "fork for the SMTP server");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      if (in >= 0)
        ::dup2(in, 0);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(describe_failure("exited before accepting connections", log));
      }
      if (accepts_connections())
        return;
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error(describe_failure("did not accept connections within 10 s", log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// Stops the server (SIGTERM, SIGKILL after 5 s) and waits until it is gone;
  /// the port then refuses connections. Saved messages stay.
  void stop() noexcept
  {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  /// The raw RFC 5322 text of every delivered message, oldest first. The
  /// server adds X-Peer, X-MailFrom and X-RcptTo (the envelope) on top.
  std::vector<std::string> messages() const
  {
    std::vector<std::filesystem::path> files;
    for (const char* sub : {"new", "cur"}) {
      std::error_code ec;
      for (std::filesystem::directory_iterator it(dir_ / "maildir" / sub, ec), end; !ec && it != end;
           it.increment(ec))
        if (it->is_regular_file())
          files.push_back(it->path());
    }
    // Maildir names start with the delivery time in seconds, then microseconds.
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
      return delivery_key(a.filename().string()) < delivery_key(b.filename().string());
    });
    std::vector<std::string> out;
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return out;
  }

  /// messages() once there are at least `n`; throws std::runtime_error when
  /// `timeout` passes first.
  std::vector<std::string> wait_for_messages(std::size_t n,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) const
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto m = messages();
      if (m.size() >= n)
        return m;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("SMTP server on port " + std::to_string(port_) + ": " + std::to_string(m.size()) +
                                 " message(s) after " + std::to_string(timeout.count()) + " ms, expected " +
                                 std::to_string(n));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

private:
  std::vector<std::string> command() const
  {
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    const std::string maildir = (dir_ / "maildir").string();
    if (refused_.empty())
      return {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c", "aiosmtpd.handlers.Mailbox", maildir};
    // aiosmtpd's own command line with a Maildir handler that refuses some recipients.
    static constexpr const char* refusing = R"(import sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.main import main
REFUSED = set(sys.argv[1].split(','))
class Refusing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in REFUSED:
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'
main(sys.argv[2:])
)";
    std::string list;
    for (const auto& a : refused_)
      list += (list.empty() ? "" : ",") + a;
    return {"/usr/bin/python3", "-c", refusing, list, "-n", "-l", listen, "-c", "__main__.Refusing", maildir};
  }

  std::string describe_failure(const std::string& what, const std::string& log) const
  {
    std::string cmd;
    for (const auto& a : command())
      cmd += (cmd.empty() ? "" : " ") + a;
    std::ifstream in(log, std::ios::binary);
    const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return "SMTP server `" + cmd + "` " + what + "; its output: " + (output.empty() ? "(none)" : output);
  }

  static std::pair<long long, long long> delivery_key(const std::string& name)
  {
    // "1765130000.M123456P42Q1.host"
    long long seconds = std::atoll(name.c_str());
    long long micros = 0;
    const auto m = name.find(".M");
    if (m != std::string::npos)
      micros = std::atoll(name.c_str() + m + 2);
    return {seconds, micros};
  }

  static int free_port()
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      const int error = errno;
      ::close(fd);
      throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  bool accepts_connections() const
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::vector<std::string> refused_;
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

} // namespace dm::test
