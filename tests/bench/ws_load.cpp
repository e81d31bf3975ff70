// dm_ws_load: the load client of tests/bench/ws.sh. Holds N WebSocket
// subscriptions to one server on one thread (Asio on epoll, a hand-made
// upgrade and frame reader: no per-connection buffers, so the client costs
// little per message), then, against the same connections:
//
//   1. memory: the server's VmRSS before connecting and once every
//      subscription has its snapshot and the server has been idle for
//      --settle seconds;
//   2. trigger -> update: --samples times, one trigger (an HTTP POST the
//      server answers by publishing), then the time until the first and until
//      the last of the N subscribers has the resulting update; one at a time,
//      each once the server has sent nothing for 300 ms;
//   3. fan-out: triggers at --rate per second for --seconds, counting every
//      update delivered, with the server's CPU time (utime + stime of
//      /proc/PID/stat) before and after.
//
// Delivery latency of a message is measured from the instant the first of the
// N subscribers received the same update (same seq): the same rule for every
// server, needing nothing from the payload. It leaves out the time from the
// server's publish to that first arrival (one write and a loopback hop); when
// the message carries `ts` as microseconds since the epoch (the Node peer
// puts its send instant there) the latency from `ts` is printed too.
//
// Output: key=value lines on stdout; progress and errors on stderr.
// Exit 1 when a connection cannot be made or subscribed, or a trigger fails.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

[[noreturn]] void die(const std::string& message)
{
  std::fprintf(stderr, "dm_ws_load: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

std::int64_t now_us()
{
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// --- options -----------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/ws/dashboard";
  std::string token;
  std::string subscribe = R"({"type":"subscribe","dashboard":"system_performance"})";
  int connections = 10000;
  int sources = 40;           ///< client addresses 127.0.1.1 ... (per-address limits of the server)
  int in_flight = 256;        ///< connections being opened at once
  int server_pid = 0;
  double settle_s = 2;
  int samples = 50;
  double rate = 4;
  double seconds = 10;
  std::string trigger_port;   ///< empty: no triggers
  std::string trigger_path;
  std::string trigger_body;   ///< "{now}" becomes the current instant (RFC 3339, ms)
  std::string trigger_type = "application/x-ndjson";
};

std::pair<std::string, std::string> split_url(const std::string& url, std::string& path)
{
  // http://HOST:PORT/PATH or ws://HOST:PORT/PATH
  const auto scheme = url.find("://");
  if (scheme == std::string::npos)
    die(fmt::format("URL '{}': expected SCHEME://HOST:PORT/PATH", url));
  const auto rest = url.substr(scheme + 3);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos)
    die(fmt::format("URL '{}': no port", url));
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

Options parse_options(int argc, char** argv)
{
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    auto number = [&]() {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0')
        die(fmt::format("{} '{}': expected a number", a, v));
      return d;
    };
    if (a == "--url") {
      auto [h, p] = split_url(value(), o.path);
      o.host = h;
      o.port = p;
    } else if (a == "--token")
      o.token = value();
    else if (a == "--subscribe")
      o.subscribe = value();
    else if (a == "--connections")
      o.connections = static_cast<int>(number());
    else if (a == "--sources")
      o.sources = static_cast<int>(number());
    else if (a == "--server-pid")
      o.server_pid = static_cast<int>(number());
    else if (a == "--settle")
      o.settle_s = number();
    else if (a == "--samples")
      o.samples = static_cast<int>(number());
    else if (a == "--rate")
      o.rate = number();
    else if (a == "--seconds")
      o.seconds = number();
    else if (a == "--trigger-url") {
      o.trigger_port = split_url(value(), o.trigger_path).second;
    } else if (a == "--trigger-body")
      o.trigger_body = value();
    else if (a == "--trigger-type")
      o.trigger_type = value();
    else
      die(fmt::format("unknown option '{}'", a));
  }
  if (o.port.empty())
    die("--url ws://HOST:PORT/PATH is required");
  if (o.connections < 1 || o.sources < 1 || o.sources > 250 || o.rate <= 0)
    die("--connections, --sources (1..250) and --rate must be positive");
  return o;
}

// --- /proc ---------------------------------------------------------------------

/// utime and stime of every thread of `pid`, in seconds.
struct CpuTimes {
  double user = 0;
  double system = 0;
  double total() const { return user + system; }
};

CpuTimes cpu_seconds(int pid)
{
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line))
    die(fmt::format("cannot read /proc/{}/stat", pid));
  // The command name (field 2) may hold spaces: count from its closing ')'.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string f;
  CpuTimes out;
  const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int field = 3; field <= 15 && fields >> f; ++field)
    if (field == 14)
      out.user = std::stod(f) / tick;
    else if (field == 15)
      out.system = std::stod(f) / tick;
  return out;
}

/// utime + stime of this process, in seconds.
double own_cpu_seconds()
{
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

/// VmRSS of `pid` in kB.
long rss_kb(int pid)
{
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  die(fmt::format("no VmRSS in /proc/{}/status", pid));
}

// --- statistics ----------------------------------------------------------------

double percentile_ms(std::vector<std::int64_t> us, double p)
{
  if (us.empty())
    return 0;
  std::sort(us.begin(), us.end());
  const double rank = p * static_cast<double>(us.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, us.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return (static_cast<double>(us[lo]) * (1 - frac) + static_cast<double>(us[hi]) * frac) / 1000.0;
}

// --- message fields --------------------------------------------------------------

/// The integer after `"key":` in `text`, if any.
std::optional<std::int64_t> int_field(std::string_view text, std::string_view quoted_key)
{
  const auto at = text.find(quoted_key);
  if (at == std::string_view::npos)
    return std::nullopt;
  auto p = text.data() + at + quoted_key.size();
  const auto end = text.data() + text.size();
  while (p < end && (*p == ' ' || *p == ':'))
    ++p;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(p, end, v);
  if (ec != std::errc() || ptr == p)
    return std::nullopt;
  return v;
}

// --- the load ---------------------------------------------------------------------

constexpr std::size_t head_capacity = 192; ///< first bytes of a message kept for its fields

struct Conn {
  explicit Conn(net::io_context& ioc) : socket(ioc) {}
  tcp::socket socket;
  enum class State : std::uint8_t { connecting, upgrading, open, closed } state = State::connecting;
  std::string upgrade;              ///< the upgrade answer while it is read
  std::array<std::uint8_t, 14> hdr{};
  std::uint8_t hdr_len = 0;
  std::uint8_t opcode = 0;          ///< of the frame being read
  bool fin = false;
  std::uint64_t remaining = 0;      ///< payload bytes of the frame still to come
  bool in_payload = false;
  std::uint64_t msg_len = 0;
  std::uint16_t head_len = 0;
  std::array<char, head_capacity> head{};
  std::array<char, 125> ctrl{};
  std::uint8_t ctrl_len = 0;
  std::int64_t last_seq = -1;
  int sample_seen = -1;             ///< the trigger sample this connection last counted for
  bool subscribed = false;          ///< has its first message
};

struct Delivery {
  std::int64_t seq;
  std::int64_t at_us;
  std::int64_t ts_us; ///< the message's own ts when it is epoch microseconds, else 0
};

class Load {
public:
  explicit Load(Options o) : o_(std::move(o)), trigger_socket_(ioc_)
  {
    ws_endpoint_ = tcp::endpoint(net::ip::make_address(o_.host), static_cast<unsigned short>(std::stoi(o_.port)));
    if (!o_.trigger_port.empty())
      trigger_endpoint_ =
          tcp::endpoint(net::ip::make_address(o_.host), static_cast<unsigned short>(std::stoi(o_.trigger_port)));
    upgrade_request_ = fmt::format("GET {} HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                                   o_.path, o_.host, o_.port);
    if (!o_.token.empty())
      upgrade_request_ += fmt::format("Authorization: Bearer {}\r\n", o_.token);
    upgrade_request_ += "\r\n";
    subscribe_frame_ = masked_frame(0x1, o_.subscribe);
    scratch_.resize(256 * 1024);
  }

  void run()
  {
    const long rss_before = o_.server_pid != 0 ? rss_kb(o_.server_pid) : 0;
    const auto t_connect = std::chrono::steady_clock::now();
    conns_.reserve(static_cast<std::size_t>(o_.connections));
    for (int i = 0; i < o_.connections; ++i)
      conns_.push_back(std::make_unique<Conn>(ioc_));
    for (int i = 0; i < std::min(o_.in_flight, o_.connections); ++i)
      open_next();
    // Every connection subscribed (its first message in), or 120 s.
    run_until([this] { return subscribed_ == o_.connections; }, std::chrono::seconds(120),
              "subscriptions with their first message");
    const double connect_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_connect).count();
    print("connections", o_.connections);
    print("connect_seconds", connect_s);
    print("snapshot_bytes", static_cast<double>(first_bytes_) / o_.connections);
    std::fflush(stdout);

    // Idle: the server holds N subscriptions and has nothing to send.
    pause(std::chrono::milliseconds(static_cast<long>(o_.settle_s * 1000)));
    if (o_.server_pid != 0) {
      const long rss_idle = rss_kb(o_.server_pid);
      print("rss_before_kb", rss_before);
      print("rss_idle_kb", rss_idle);
      print("kb_per_connection", static_cast<double>(rss_idle - rss_before) / o_.connections);
    }
    std::fflush(stdout);
    if (trigger_endpoint_.port() == 0)
      return;

    open_trigger();
    run_samples();
    run_fanout();
  }

private:
  // --- event loop helpers ---
  template <typename Done> void run_until(Done done, std::chrono::milliseconds limit, std::string_view what)
  {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline)
        die(fmt::format("timed out waiting for {} ({} of {} subscribed, {} closed)", what, subscribed_,
                        o_.connections, closed_));
      ioc_.run_one_for(std::chrono::milliseconds(100));
    }
  }

  void pause(std::chrono::milliseconds d)
  {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until)
      ioc_.run_one_until(until);
  }

  template <typename T> static void print(std::string_view key, T value)
  {
    if constexpr (std::is_floating_point_v<T>)
      std::printf("%.*s=%.6g\n", static_cast<int>(key.size()), key.data(), static_cast<double>(value));
    else
      std::printf("%.*s=%lld\n", static_cast<int>(key.size()), key.data(), static_cast<long long>(value));
  }

  static std::string masked_frame(std::uint8_t opcode, std::string_view payload)
  {
    static constexpr std::array<std::uint8_t, 4> mask{0x12, 0x34, 0x56, 0x78};
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      f += static_cast<char>(0x80 | payload.size());
    } else {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>((payload.size() >> 8) & 0xFF);
      f += static_cast<char>(payload.size() & 0xFF);
    }
    for (auto m : mask)
      f += static_cast<char>(m);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i % 4]);
    return f;
  }

  // --- connecting ---
  void open_next()
  {
    if (next_ >= o_.connections)
      return;
    const int index = next_++;
    Conn& c = *conns_[static_cast<std::size_t>(index)];
    error_code ec;
    c.socket.open(tcp::v4(), ec);
    if (ec)
      die(fmt::format("socket: {} (raise ulimit -n)", ec.message()));
    // Spread over client addresses: servers cap connections per address.
    const auto source = net::ip::make_address_v4(fmt::format("127.0.1.{}", 1 + index % o_.sources));
    c.socket.bind(tcp::endpoint(source, 0), ec);
    if (ec)
      die(fmt::format("bind {}: {}", source.to_string(), ec.message()));
    c.socket.async_connect(ws_endpoint_, [this, &c](error_code e) {
      if (e)
        die(fmt::format("connect to {}: {}", ws_endpoint_.port(), e.message()));
      c.socket.set_option(tcp::no_delay(true));
      c.socket.non_blocking(true);
      c.state = Conn::State::upgrading;
      net::async_write(c.socket, net::buffer(upgrade_request_), [this, &c](error_code e2, std::size_t) {
        if (e2)
          die(fmt::format("upgrade request: {}", e2.message()));
        wait_read(c);
      });
    });
  }

  void wait_read(Conn& c)
  {
    c.socket.async_wait(tcp::socket::wait_read, [this, &c](error_code ec) {
      if (ec) {
        if (ec != net::error::operation_aborted)
          die(fmt::format("wait: {}", ec.message()));
        return;
      }
      on_readable(c);
    });
  }

  void on_readable(Conn& c)
  {
    for (;;) {
      error_code ec;
      const std::size_t n = c.socket.read_some(net::buffer(scratch_), ec);
      if (ec == net::error::would_block || ec == net::error::try_again)
        break;
      if (ec) {
        lost(c, ec.message());
        return;
      }
      const std::int64_t at = now_us();
      const auto* p = reinterpret_cast<const std::uint8_t*>(scratch_.data());
      if (c.state == Conn::State::upgrading) {
        const std::size_t used = read_upgrade(c, p, n);
        feed(c, p + used, n - used, at);
      } else {
        feed(c, p, n, at);
      }
      if (c.state == Conn::State::closed)
        return;
      if (n < scratch_.size())
        break;
    }
    wait_read(c);
  }

  void lost(Conn& c, const std::string& why)
  {
    if (c.state == Conn::State::closed)
      return;
    if (c.state != Conn::State::open)
      die(fmt::format("a connection was lost while upgrading: {}", why));
    c.state = Conn::State::closed;
    ++closed_;
    if (closed_ == 1)
      std::fprintf(stderr, "dm_ws_load: a connection was lost: %s\n", why.c_str());
    error_code ignored;
    c.socket.close(ignored);
  }

  /// Consumes the upgrade answer; returns the bytes of `p` it used.
  std::size_t read_upgrade(Conn& c, const std::uint8_t* p, std::size_t n)
  {
    const std::size_t before = c.upgrade.size();
    c.upgrade.append(reinterpret_cast<const char*>(p), n);
    const auto end = c.upgrade.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.upgrade.size() > 16384)
        die("the upgrade answer is too long");
      return n;
    }
    if (c.upgrade.compare(0, 12, "HTTP/1.1 101") != 0)
      die(fmt::format("the server declined the upgrade: {}", c.upgrade.substr(0, 400)));
    const std::size_t used = end + 4 - before;
    c.upgrade.clear();
    c.upgrade.shrink_to_fit();
    c.state = Conn::State::open;
    error_code ec;
    net::write(c.socket, net::buffer(subscribe_frame_), ec);
    if (ec)
      die(fmt::format("subscribe: {}", ec.message()));
    open_next();
    return used;
  }

  // --- frames ---
  void feed(Conn& c, const std::uint8_t* p, std::size_t n, std::int64_t at)
  {
    while (n > 0 && c.state == Conn::State::open) {
      if (!c.in_payload) {
        c.hdr[c.hdr_len++] = *p++;
        --n;
        if (c.hdr_len < 2)
          continue;
        const std::uint8_t len7 = c.hdr[1] & 0x7F;
        const std::size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((c.hdr[1] & 0x80) ? 4 : 0);
        if (c.hdr_len < need)
          continue;
        std::uint64_t len = len7;
        if (len7 == 126)
          len = (std::uint64_t{c.hdr[2]} << 8) | c.hdr[3];
        else if (len7 == 127) {
          len = 0;
          for (int i = 2; i < 10; ++i)
            len = (len << 8) | c.hdr[static_cast<std::size_t>(i)];
        }
        c.fin = (c.hdr[0] & 0x80) != 0;
        c.opcode = c.hdr[0] & 0x0F;
        c.hdr_len = 0;
        c.remaining = len;
        c.in_payload = true;
        if (c.opcode == 0x1 || c.opcode == 0x2) {
          c.msg_len = 0;
          c.head_len = 0;
        } else if (c.opcode >= 0x8) {
          c.ctrl_len = 0;
        }
        if (len == 0)
          frame_done(c, at);
        continue;
      }
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(c.remaining, n));
      if (c.opcode >= 0x8) {
        const std::size_t room = c.ctrl.size() - c.ctrl_len;
        const std::size_t take = std::min(k, room);
        std::memcpy(c.ctrl.data() + c.ctrl_len, p, take);
        c.ctrl_len = static_cast<std::uint8_t>(c.ctrl_len + take);
      } else {
        const std::size_t room = head_capacity - c.head_len;
        const std::size_t take = std::min(k, room);
        std::memcpy(c.head.data() + c.head_len, p, take);
        c.head_len = static_cast<std::uint16_t>(c.head_len + take);
        c.msg_len += k;
      }
      p += k;
      n -= k;
      c.remaining -= k;
      if (c.remaining == 0)
        frame_done(c, at);
    }
  }

  void frame_done(Conn& c, std::int64_t at)
  {
    c.in_payload = false;
    switch (c.opcode) {
    case 0x9: { // ping: answer with a pong carrying the same payload
      const std::string pong = masked_frame(0xA, std::string_view(c.ctrl.data(), c.ctrl_len));
      error_code ec;
      net::write(c.socket, net::buffer(pong), ec);
      return;
    }
    case 0xA:
      return;
    case 0x8: {
      int code = c.ctrl_len >= 2 ? (static_cast<std::uint8_t>(c.ctrl[0]) << 8) | static_cast<std::uint8_t>(c.ctrl[1]) : 0;
      ++server_closes_;
      if (server_closes_ == 1)
        std::fprintf(stderr, "dm_ws_load: the server closed a connection with code %d: %.*s\n", code,
                     c.ctrl_len > 2 ? c.ctrl_len - 2 : 0, c.ctrl.data() + 2);
      lost(c, fmt::format("closed by the server with code {}", code));
      return;
    }
    default:
      break;
    }
    if (c.fin)
      on_message(c, at);
  }

  void on_message(Conn& c, std::int64_t at)
  {
    last_message_us_ = at;
    const std::string_view head(c.head.data(), c.head_len);
    if (head.find("\"type\":\"error\"") != std::string_view::npos)
      die(fmt::format("the server answered with an error: {}", head));
    const std::int64_t seq = int_field(head, "\"seq\"").value_or(-1);
    if (!c.subscribed) {
      c.subscribed = true;
      ++subscribed_;
      first_bytes_ += c.msg_len;
      c.last_seq = seq;
      max_seq_ = std::max(max_seq_, seq);
      return;
    }
    if (seq >= 0 && c.last_seq >= 0 && seq > c.last_seq + 1)
      gaps_ += static_cast<std::uint64_t>(seq - c.last_seq - 1);
    c.last_seq = std::max(c.last_seq, seq);
    max_seq_ = std::max(max_seq_, seq);
    if (sampling_ && seq >= sample_min_seq_ && c.sample_seen != sample_index_) {
      c.sample_seen = sample_index_;
      if (sample_count_++ == 0)
        sample_first_ = at;
      sample_last_ = at;
    }
    if (streaming_) {
      std::int64_t ts = int_field(head, "\"ts\"").value_or(0);
      if (ts < 1'000'000'000'000'000) // not epoch microseconds
        ts = 0;
      deliveries_.push_back({seq, at, ts});
      bytes_ += c.msg_len;
    }
  }

  // --- triggers: one keep-alive HTTP/1.1 connection ---
  void open_trigger()
  {
    error_code ec;
    trigger_socket_.connect(trigger_endpoint_, ec);
    if (ec)
      die(fmt::format("trigger connection: {}", ec.message()));
    trigger_socket_.set_option(tcp::no_delay(true));
  }

  static std::string rfc3339_now()
  {
    const std::int64_t us = now_us();
    const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, (us / 1000) % 1000);
  }

  /// Sends one trigger; `done` runs when its answer is in. One at a time.
  void trigger(std::function<void()> done)
  {
    trigger_busy_ = true;
    std::string body = o_.trigger_body;
    for (auto at = body.find("{now}"); at != std::string::npos; at = body.find("{now}"))
      body.replace(at, 5, rfc3339_now());
    trigger_request_ = fmt::format("POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                                   o_.trigger_path, o_.host, o_.trigger_port, o_.trigger_type, body.size());
    if (!o_.token.empty())
      trigger_request_ += fmt::format("Authorization: Bearer {}\r\n", o_.token);
    trigger_request_ += "\r\n" + body;
    trigger_answer_.clear();
    net::async_write(trigger_socket_, net::buffer(trigger_request_),
                     [this, done = std::move(done)](error_code ec, std::size_t) mutable {
                       if (ec)
                         die(fmt::format("trigger request: {}", ec.message()));
                       read_trigger_answer(std::move(done));
                     });
  }

  void read_trigger_answer(std::function<void()> done)
  {
    trigger_socket_.async_read_some(
        net::buffer(trigger_buffer_), [this, done = std::move(done)](error_code ec, std::size_t n) mutable {
          if (ec)
            die(fmt::format("trigger answer: {}", ec.message()));
          trigger_answer_.append(trigger_buffer_.data(), n);
          const auto end = trigger_answer_.find("\r\n\r\n");
          if (end != std::string::npos) {
            std::size_t length = 0;
            std::string lower = trigger_answer_.substr(0, end);
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
            if (const auto cl = lower.find("content-length:"); cl != std::string::npos)
              length = std::stoul(lower.substr(cl + 15));
            if (trigger_answer_.size() >= end + 4 + length) {
              if (trigger_answer_.compare(0, 10, "HTTP/1.1 2") != 0)
                die(fmt::format("the trigger was answered {}", trigger_answer_.substr(0, 400)));
              trigger_busy_ = false;
              ++triggers_;
              done();
              return;
            }
          }
          read_trigger_answer(std::move(done));
        });
  }

  // --- phase 2: trigger -> update, one at a time ---
  void run_samples()
  {
    std::vector<std::int64_t> first;
    std::vector<std::int64_t> all;
    int missed = 0;
    for (int i = 0; i < o_.samples; ++i) {
      sample_index_ = i;
      sample_min_seq_ = max_seq_ + 1;
      sample_count_ = 0;
      sampling_ = true;
      const std::int64_t t0 = now_us();
      trigger([] {});
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while ((sample_count_ < o_.connections - closed_ || trigger_busy_) &&
             std::chrono::steady_clock::now() < deadline)
        ioc_.run_one_until(deadline);
      sampling_ = false;
      if (trigger_busy_)
        die("a trigger was not answered within 5 s");
      if (sample_count_ < o_.connections - closed_) {
        ++missed;
      } else {
        first.push_back(sample_first_ - t0);
        all.push_back(sample_last_ - t0);
      }
      // The next sample starts on a quiet server: a trigger may publish more
      // than once, and each sample measures one ingest on an idle server.
      const auto quiet_limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      do
        pause(std::chrono::milliseconds(50));
      while (now_us() - last_message_us_ < 300'000 && std::chrono::steady_clock::now() < quiet_limit);
    }
    print("trigger_samples", static_cast<long long>(first.size()));
    print("trigger_missed", missed);
    print("trigger_first_p50_ms", percentile_ms(first, 0.5));
    print("trigger_first_p99_ms", percentile_ms(first, 0.99));
    print("trigger_all_p50_ms", percentile_ms(all, 0.5));
    print("trigger_all_p99_ms", percentile_ms(all, 0.99));
    std::fflush(stdout);
  }

  // --- phase 3: a stream of updates ---
  void run_fanout()
  {
    const auto interval = std::chrono::microseconds(static_cast<long>(1e6 / o_.rate));
    const int planned = static_cast<int>(o_.rate * o_.seconds);
    deliveries_.reserve(static_cast<std::size_t>(planned) * static_cast<std::size_t>(o_.connections) + 1024);
    const CpuTimes cpu0 = o_.server_pid != 0 ? cpu_seconds(o_.server_pid) : CpuTimes{};
    const double own0 = own_cpu_seconds();
    const std::int64_t start_us = now_us();
    streaming_ = true;
    int skipped = 0;
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < planned; ++i) {
      while (std::chrono::steady_clock::now() < next)
        ioc_.run_one_until(next);
      next += interval;
      if (trigger_busy_) {
        ++skipped; // the server has not answered the previous one yet
        continue;
      }
      trigger([] {});
    }
    // Drain: until the server has been quiet for a second (or 10 s).
    const auto drain_limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t seen = 0;
    auto quiet_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < drain_limit) {
      ioc_.run_one_for(std::chrono::milliseconds(50));
      if (deliveries_.size() != seen || trigger_busy_) {
        seen = deliveries_.size();
        quiet_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - quiet_since > std::chrono::seconds(1)) {
        break;
      }
    }
    streaming_ = false;
    const CpuTimes cpu1 = o_.server_pid != 0 ? cpu_seconds(o_.server_pid) : CpuTimes{};
    const double own1 = own_cpu_seconds();
    const double wall_s = static_cast<double>(now_us() - start_us) / 1e6;

    // Latency from the first arrival of the same seq at any subscriber.
    std::unordered_map<std::int64_t, std::int64_t> first_at;
    std::int64_t last_at = start_us;
    for (const auto& d : deliveries_) {
      auto [it, inserted] = first_at.try_emplace(d.seq, d.at_us);
      if (!inserted)
        it->second = std::min(it->second, d.at_us);
      last_at = std::max(last_at, d.at_us);
    }
    std::vector<std::int64_t> latency;
    std::vector<std::int64_t> from_ts;
    latency.reserve(deliveries_.size());
    for (const auto& d : deliveries_) {
      latency.push_back(d.at_us - first_at[d.seq]);
      if (d.ts_us != 0)
        from_ts.push_back(d.at_us - d.ts_us);
    }
    const double span_s = static_cast<double>(last_at - start_us) / 1e6;
    const auto messages = static_cast<double>(deliveries_.size());
    print("fanout_triggers", triggers_ - o_.samples);
    print("fanout_triggers_skipped", skipped);
    print("fanout_broadcasts", static_cast<long long>(first_at.size()));
    print("fanout_messages", static_cast<long long>(deliveries_.size()));
    print("fanout_seconds", span_s);
    print("msgs_per_s", span_s > 0 ? messages / span_s : 0.0);
    print("msg_bytes", messages > 0 ? static_cast<double>(bytes_) / messages : 0.0);
    print("p50_ms", percentile_ms(latency, 0.5));
    print("p99_ms", percentile_ms(latency, 0.99));
    print("max_ms", percentile_ms(latency, 1.0));
    print("ts_samples", static_cast<long long>(from_ts.size()));
    if (!from_ts.empty()) {
      print("ts_p50_ms", percentile_ms(from_ts, 0.5));
      print("ts_p99_ms", percentile_ms(from_ts, 0.99));
    }
    print("seq_gaps", static_cast<long long>(gaps_));
    print("server_closes", server_closes_);
    print("lost_connections", closed_);
    // Near 1: the client was the bottleneck, and the server's figures are
    // those of a server fed no faster than the client reads.
    print("client_cpu_share", (own1 - own0) / wall_s);
    if (o_.server_pid != 0) {
      const double cpu = cpu1.total() - cpu0.total();
      print("server_cpu_share", cpu / wall_s);
      print("cpu_seconds", cpu);
      print("cpu_us_per_msg", messages > 0 ? cpu * 1e6 / messages : 0.0);
      print("user_us_per_msg", messages > 0 ? (cpu1.user - cpu0.user) * 1e6 / messages : 0.0);
      print("system_us_per_msg", messages > 0 ? (cpu1.system - cpu0.system) * 1e6 / messages : 0.0);
    }
    std::fflush(stdout);
  }

  Options o_;
  net::io_context ioc_{1};
  tcp::endpoint ws_endpoint_;
  tcp::endpoint trigger_endpoint_;
  std::string upgrade_request_;
  std::string subscribe_frame_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<char> scratch_;
  int next_ = 0;
  int subscribed_ = 0;
  int closed_ = 0;
  int server_closes_ = 0;
  std::uint64_t first_bytes_ = 0;
  std::int64_t max_seq_ = -1;
  std::int64_t last_message_us_ = 0;

  tcp::socket trigger_socket_;
  std::string trigger_request_;
  std::string trigger_answer_;
  std::array<char, 4096> trigger_buffer_{};
  bool trigger_busy_ = false;
  int triggers_ = 0;

  bool sampling_ = false;
  int sample_index_ = -1;
  std::int64_t sample_min_seq_ = 0;
  int sample_count_ = 0;
  std::int64_t sample_first_ = 0;
  std::int64_t sample_last_ = 0;

  bool streaming_ = false;
  std::vector<Delivery> deliveries_;
  std::uint64_t bytes_ = 0;
  std::uint64_t gaps_ = 0;
};

} // namespace

int main(int argc, char** argv)
{
  Load load(parse_options(argc, argv));
  load.run();
  return 0;
}
