// E-mail delivery against a real SMTP server (aiosmtpd): a report PDF
// reaches every recipient byte for byte, read back with Python's email
// parser; a server that is down or never answers is a DeliveryError naming
// the server; a server back on the same port takes the next message.

#include "smtp_server.hpp"

#include "dm/mail/smtp.hpp"
#include "dm/render/pdf_renderer.hpp"
#include "dm/report/report.hpp"
#include "dm/util/process.hpp"
#include "dm/util/time.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace fs = std::filesystem;
namespace json = boost::json;
using dm::mail::DeliveryError;
using dm::mail::Message;
using dm::mail::SmtpSettings;
using dm::test::SmtpServer;

namespace {

/// A folder under /tmp removed at the end of the test.
class ScratchDir {
public:
  ScratchDir()
  {
    std::string pattern = (fs::temp_directory_path() / "dm-mail-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir()
  {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  fs::path write(const std::string& name, const std::string& bytes) const
  {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  const fs::path& path() const noexcept { return path_; }

private:
  fs::path path_;
};

std::string read_file(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Parses a delivered message with Python's email package (policy default:
/// encoded-words decoded, transfer encodings undone); attachments are
/// written into `dir`.
constexpr const char* parse_script = R"(import email, email.policy, json, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
body = msg.get_body(preferencelist=('plain',))
out = {
    'subject': str(msg['subject']),
    'from': str(msg['from']),
    'to': str(msg['to']),
    'rcpt': str(msg['x-rcptto']),
    'date_ok': msg['date'] is not None and msg['date'].datetime is not None,
    'message_id': str(msg['message-id']),
    'mime_version': str(msg['mime-version']),
    'text': body.get_content() if body is not None else None,
    'attachments': [],
}
for i, part in enumerate(msg.iter_attachments()):
    path = '%s/attachment-%d' % (sys.argv[2], i)
    with open(path, 'wb') as f:
        f.write(part.get_payload(decode=True))
    out['attachments'].append({'filename': part.get_filename(), 'type': part.get_content_type(), 'path': path})
print(json.dumps(out))
)";

json::object parse_delivered(const ScratchDir& dir, const std::string& raw)
{
  const fs::path script = dir.write("parse.py", parse_script);
  const fs::path eml = dir.write("message.eml", raw);
  const auto result = dm::util::run_process({"/usr/bin/python3", script.string(), eml.string(), dir.path().string()});
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.output).as_object();
}

std::string str(const json::value& v)
{
  return std::string(v.as_string());
}

dm::report::Report small_report()
{
  using namespace dm::report;
  constexpr dm::util::Micros day = dm::util::micros_per_day;
  const dm::util::Micros monday = dm::util::days_from_civil(2026, 11, 30) * day;
  Report r;
  r.id = 7;
  r.type = ReportType::learning;
  r.version = 1;
  r.generated_at = monday + 7 * day + 6 * dm::util::micros_per_hour;
  r.period = {monday, monday + 7 * day, "Europe/Berlin"};
  Kpi k;
  k.name = "answered";
  k.label = "Answered questions";
  k.type = ColumnType::integer;
  k.value = std::int64_t{48211};
  r.kpis = {k};
  Section s;
  s.name = "topics";
  s.title = "Topics";
  s.columns = {{"topic", ColumnType::text, "Topic"},
               {"answered", ColumnType::integer, "Answered"},
               {"accuracy", ColumnType::ratio, "Accuracy"}};
  s.rows = {{std::string("Überholen"), std::int64_t{48211}, 0.812},
            {std::string("Vorfahrt"), std::int64_t{52001}, 0.655}};
  s.chart = Chart::bar;
  s.chart_x = "topic";
  s.chart_y = {"answered"};
  r.sections = {s};
  return r;
}

Message simple_message(const std::string& subject)
{
  Message m;
  m.from = "reports@example.com";
  m.to = {"ops@example.com", "lead@example.org"};
  m.subject = subject;
  m.text = "Hello";
  return m;
}

SmtpSettings settings_for(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
  SmtpSettings s;
  s.url = url;
  s.timeout = timeout;
  return s;
}

/// A TCP listener on 127.0.0.1 that accepts into its backlog and never answers.
class SilentListener {
public:
  SilentListener()
  {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

private:
  int fd_ = -1;
  int port_ = 0;
};

} // namespace

TEST_CASE("smtp: a report PDF reaches two recipients byte for byte", "[mail][smtp]")
{
  SmtpServer server;
  ScratchDir dir;
  const std::string pdf = dm::render::render_pdf(small_report());
  REQUIRE(pdf.rfind("%PDF-", 0) == 0);

  Message m;
  m.from = "reports@example.com";
  m.to = {"ops@example.com", "first.last+tag@mail.example.org"};
  m.subject = "Bericht Überholen – Woche 49";
  m.text = "Guten Morgen,\n\nanbei der Lernbericht für die Woche.\n.\n.. a line that starts with a dot\n"
           "Eine sehr lange Zeile, die länger ist als sechsundsiebzig Zeichen und deshalb umbrochen werden muss, "
           "ohne dass sich etwas ändert.\n";
  m.attachments.push_back({"learning-2026-W49.pdf", "application/pdf", pdf});
  m.attachments.push_back({"Übersicht.csv", "text/csv", "topic,answered\nÜberholen,48211\n"});
  dm::mail::send(settings_for(server.url()), m);

  const auto messages = server.wait_for_messages(1);
  REQUIRE(messages.size() == 1);
  const std::string& raw = messages[0];
  // Only 7-bit text on the wire.
  CHECK(std::all_of(raw.begin(), raw.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));

  const json::object parsed = parse_delivered(dir, raw);
  CHECK(str(parsed.at("subject")) == m.subject);
  CHECK(str(parsed.at("from")) == "reports@example.com");
  CHECK(str(parsed.at("to")) == "ops@example.com, first.last+tag@mail.example.org");
  CHECK(str(parsed.at("rcpt")) == "ops@example.com, first.last+tag@mail.example.org");
  CHECK(parsed.at("date_ok").as_bool());
  const std::string id = str(parsed.at("message_id"));
  CHECK(id.front() == '<');
  CHECK(id.substr(id.size() - 13) == "@example.com>");
  CHECK(str(parsed.at("mime_version")) == "1.0");
  std::string text = str(parsed.at("text"));
  CHECK(text == m.text);

  const auto& attachments = parsed.at("attachments").as_array();
  REQUIRE(attachments.size() == 2);
  const auto& a = attachments[0].as_object();
  CHECK(str(a.at("filename")) == "learning-2026-W49.pdf");
  CHECK(str(a.at("type")) == "application/pdf");
  const fs::path extracted = str(a.at("path"));
  CHECK(read_file(extracted) == pdf);
  const auto qpdf = dm::util::run_process({"qpdf", "--check", extracted.string()});
  INFO(qpdf.output);
  CHECK(qpdf.exit_code == 0);

  const auto& csv = attachments[1].as_object();
  CHECK(str(csv.at("filename")) == "Übersicht.csv");
  CHECK(str(csv.at("type")) == "text/csv");
  CHECK(read_file(str(csv.at("path"))) == m.attachments[1].data);
}

TEST_CASE("smtp: a stopped server is a DeliveryError naming it, and back on the same port it takes the next message",
          "[mail][smtp]")
{
  SmtpServer server;
  const std::string url = server.url();
  server.stop();

  try {
    dm::mail::send(settings_for(url), simple_message("while down"));
    FAIL("send to a stopped server succeeded");
  } catch (const DeliveryError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(url) != std::string::npos);
    CHECK(what.find("ops@example.com, lead@example.org") != std::string::npos);
    CHECK(what.find("Couldn't connect") != std::string::npos);
  }
  CHECK(dm::exit_code_for(DeliveryError("x")) == dm::ExitCode::failure);

  server.start();
  CHECK(server.url() == url);
  dm::mail::send(settings_for(url), simple_message("back again"));
  const auto messages = server.wait_for_messages(1);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].find("Subject: back again") != std::string::npos);
  CHECK(messages[0].find("while down") == std::string::npos);
}

TEST_CASE("smtp: a refused recipient is a DeliveryError with the server's reply, and nothing is sent",
          "[mail][smtp]")
{
  SmtpServer server({"gone@example.org"});
  Message m = simple_message("refused");
  m.to = {"ops@example.com", "gone@example.org"};
  try {
    dm::mail::send(settings_for(server.url()), m);
    FAIL("send with a refused recipient succeeded");
  } catch (const DeliveryError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(server.url()) != std::string::npos);
    CHECK(what.find("550 5.1.1 <gone@example.org>: Recipient address rejected") != std::string::npos);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(server.messages().empty());

  m.to = {"ops@example.com"};
  dm::mail::send(settings_for(server.url()), m);
  CHECK(server.wait_for_messages(1).size() == 1);
}

TEST_CASE("smtp: several messages in a row arrive in order", "[mail][smtp]")
{
  SmtpServer server;
  for (int i = 1; i <= 3; ++i)
    dm::mail::send(settings_for(server.url()), simple_message("run " + std::to_string(i)));
  const auto messages = server.wait_for_messages(3);
  REQUIRE(messages.size() == 3);
  for (int i = 1; i <= 3; ++i)
    CHECK(messages[static_cast<std::size_t>(i - 1)].find("Subject: run " + std::to_string(i)) != std::string::npos);
}

TEST_CASE("smtp: a server that never answers is a DeliveryError after the timeout", "[mail][smtp]")
{
  SilentListener silent;
  const auto started = std::chrono::steady_clock::now();
  try {
    dm::mail::send(settings_for(silent.url(), std::chrono::seconds(1)), simple_message("never"));
    FAIL("send to a silent server succeeded");
  } catch (const DeliveryError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(silent.url()) != std::string::npos);
    CHECK(what.find("Timeout") != std::string::npos);
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(elapsed >= std::chrono::milliseconds(900));
  CHECK(elapsed < std::chrono::seconds(4));
}
