// dm_ws_send_floor: what one loopback TCP send per subscriber costs on this
// machine, with no server around it. tests/bench/ws.sh prints it next to the
// two servers as the floor any fan-out that writes each subscriber's frame
// with its own send (dmanalyticsd and Node `ws` both do) cannot go below.
//
// N connected TCP pairs on 127.0.0.1. A child process, pinned to
// --client-cpu, owns the client ends and reads them with epoll as fast as
// data comes (as the load client does). This process, pinned to
// --server-cpu, sends --rounds broadcasts, one per --interval-ms: to each
// connection a WebSocket text frame header and a --bytes payload with one
// sendmsg (two parts, as the daemon writes them). Measured here:
//   - CPU per send: utime and stime of this process across the rounds
//     (getrusage), divided by the sends. On loopback the kernel runs the
//     receiver's side of TCP in the sender's system call, so stime holds it;
//   - the time one broadcast takes, from the first send to the last: a lower
//     bound of a server's delivery spread (first to last subscriber).
//
// Output: key=value lines on stdout (partial_sends: sends the socket did not
// take whole, which should stay 0). Exit 1 when a socket call fails.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

[[noreturn]] void die(const std::string& what)
{
  std::fprintf(stderr, "dm_ws_send_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::_Exit(1);
}

void pin(int cpu)
{
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    die(fmt::format("cannot pin to CPU {}", cpu));
}

double cpu_seconds(const timeval& t)
{
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

struct Options {
  int connections = 10000;
  int bytes = 928;
  int rounds = 20;
  int interval_ms = 1000;
  int server_cpu = -1;
  int client_cpu = -1;
};

Options parse(int argc, char** argv)
{
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "dm_ws_send_floor: %s needs a value\n", argv[i]);
      std::exit(2);
    }
    const int value = std::atoi(argv[++i]);
    if (arg == "--connections")
      o.connections = value;
    else if (arg == "--bytes")
      o.bytes = value;
    else if (arg == "--rounds")
      o.rounds = value;
    else if (arg == "--interval-ms")
      o.interval_ms = value;
    else if (arg == "--server-cpu")
      o.server_cpu = value;
    else if (arg == "--client-cpu")
      o.client_cpu = value;
    else {
      std::fprintf(stderr, "dm_ws_send_floor: unknown option %s\n", argv[i - 1]);
      std::exit(2);
    }
  }
  if (o.connections < 1 || o.bytes < 1 || o.bytes > 65535 || o.rounds < 1 || o.interval_ms < 0) {
    std::fprintf(stderr, "dm_ws_send_floor: connections, rounds >= 1, bytes 1..65535, interval >= 0\n");
    std::exit(2);
  }
  return o;
}

/// The client side: reads every connection until all of them are closed.
[[noreturn]] void receive(const std::vector<int>& fds)
{
  const int ep = epoll_create1(0);
  if (ep < 0)
    die("epoll_create1");
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
      die("epoll_ctl");
  }
  std::size_t open = fds.size();
  std::array<epoll_event, 256> events{};
  std::vector<char> buffer(64 * 1024);
  while (open > 0) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        --open;
      }
    }
  }
  std::_Exit(0);
}

} // namespace

int main(int argc, char** argv)
{
  const Options o = parse(argc, argv);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0)
    die("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 4096) != 0)
    die("bind/listen on 127.0.0.1");
  socklen_t length = sizeof address;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    die("getsockname");

  // Each process holds one end of every connection (the descriptor limit
  // then needs N, not 2N): the child connects, this process accepts.
  const pid_t child = ::fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    pin(o.client_cpu);
    std::vector<int> client_ends;
    client_ends.reserve(static_cast<std::size_t>(o.connections));
    for (int i = 0; i < o.connections; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM, 0);
      if (c < 0)
        die("socket (client)");
      if (::connect(c, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        die("connect");
      ::fcntl(c, F_SETFL, O_NONBLOCK);
      client_ends.push_back(c);
    }
    receive(client_ends);
  }
  std::vector<int> server_ends;
  server_ends.reserve(static_cast<std::size_t>(o.connections));
  for (int i = 0; i < o.connections; ++i) {
    const int s = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
    if (s < 0)
      die("accept");
    const int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    server_ends.push_back(s);
  }
  ::close(listener);
  pin(o.server_cpu);

  // A server's unmasked text frame: FIN + text, then the 16-bit length form.
  std::string header{'\x81', '\x7e', static_cast<char>(o.bytes >> 8), static_cast<char>(o.bytes & 0xff)};
  if (o.bytes < 126)
    header = {'\x81', static_cast<char>(o.bytes)};
  const std::string payload(static_cast<std::size_t>(o.bytes), 'x');

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<double> spreads;
  std::uint64_t sends = 0, partial = 0;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  for (int round = 0; round < o.rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    for (int fd : server_ends) {
      std::array<iovec, 2> parts{iovec{header.data(), header.size()}, iovec{const_cast<char*>(payload.data()), payload.size()}};
      msghdr message{};
      message.msg_iov = parts.data();
      message.msg_iovlen = parts.size();
      const ssize_t sent = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN)
        die("sendmsg");
      if (sent != static_cast<ssize_t>(header.size() + payload.size()))
        ++partial;
      ++sends;
    }
    spreads.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (round + 1 < o.rounds)
      std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
  }
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  for (int fd : server_ends)
    ::close(fd);
  int status = 0;
  ::waitpid(child, &status, 0);

  const double user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  const double system = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  std::sort(spreads.begin(), spreads.end());
  const auto at = [&](double q) {
    return spreads[std::min(spreads.size() - 1, static_cast<std::size_t>(q * static_cast<double>(spreads.size())))];
  };
  std::printf("sends=%llu\n", static_cast<unsigned long long>(sends));
  std::printf("partial_sends=%llu\n", static_cast<unsigned long long>(partial));
  std::printf("cpu_us_per_msg=%.3f\n", (user + system) * 1e6 / static_cast<double>(sends));
  std::printf("user_us_per_msg=%.3f\n", user * 1e6 / static_cast<double>(sends));
  std::printf("system_us_per_msg=%.3f\n", system * 1e6 / static_cast<double>(sends));
  std::printf("broadcast_p50_ms=%.3f\n", at(0.5));
  std::printf("broadcast_max_ms=%.3f\n", spreads.back());
  return 0;
}
