// The pieces of an outgoing e-mail that need no server: header encoding
// (RFC 2047), the Date format (RFC 5322), refused header values, and the
// [smtp] settings with their errors.

#include "dm/config/config.hpp"
#include "dm/mail/smtp.hpp"
#include "dm/util/error.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using dm::mail::encode_header_value;

namespace {

std::string base64_decode(const std::string& text)
{
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=')
      break;
    const auto index = alphabet.find(c);
    REQUIRE(index != std::string::npos);
    bits = (bits << 6) | static_cast<unsigned>(index);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xffu);
    }
  }
  return out;
}

/// The encoded-words of a header value, each "=?UTF-8?B?...?=", and the text they decode to.
struct Decoded {
  std::vector<std::string> words;
  std::string text;
};

Decoded decode_words(const std::string& value)
{
  Decoded d;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ' || value[pos] == '\r' || value[pos] == '\n') {
      ++pos;
      continue;
    }
    REQUIRE(value.compare(pos, 10, "=?UTF-8?B?") == 0);
    const auto end = value.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    d.words.push_back(value.substr(pos, end + 2 - pos));
    d.text += base64_decode(value.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  return d;
}

/// A file removed at the end of the test.
struct ScratchFile {
  std::filesystem::path path;
  explicit ScratchFile(const std::string& contents)
      : path(std::filesystem::temp_directory_path() / ("dm-smtp-unit-" + std::to_string(::getpid()) + ".txt"))
  {
    std::ofstream(path, std::ios::binary) << contents;
  }
  ~ScratchFile()
  {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

dm::config::SmtpConfig smtp_config()
{
  dm::config::SmtpConfig c;
  c.url = "smtp://mail.example.com:587";
  c.from = "reports@example.com";
  return c;
}

} // namespace

TEST_CASE("mail header: printable ASCII passes through unchanged", "[mail]")
{
  CHECK(encode_header_value("Weekly engagement report 2026-W49") == "Weekly engagement report 2026-W49");
  CHECK(encode_header_value("") == "");
}

TEST_CASE("mail header: non-ASCII becomes RFC 2047 encoded-words that decode back", "[mail]")
{
  const std::string subject = "Bericht Überholen";
  const std::string encoded = encode_header_value(subject);
  CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(encoded.find("Ü") == std::string::npos);
  CHECK(decode_words(encoded).text == subject);
}

TEST_CASE("mail header: long values split into words of at most 75 characters between whole characters",
          "[mail]")
{
  std::string subject;
  for (int i = 0; i < 20; ++i)
    subject += "Prüfung für Führerschein ";
  const std::string encoded = encode_header_value(subject);
  const Decoded d = decode_words(encoded);
  CHECK(d.text == subject);
  REQUIRE(d.words.size() > 1);
  for (const auto& w : d.words) {
    CHECK(w.size() <= 75);
    // Each word alone is valid UTF-8: it does not begin with a continuation byte.
    const std::string part = base64_decode(w.substr(10, w.size() - 12));
    REQUIRE_FALSE(part.empty());
    CHECK((static_cast<unsigned char>(part.front()) & 0xc0u) != 0x80u);
  }
  // Words go on continuation lines.
  CHECK(encoded.find("?=\r\n =?UTF-8?B?") != std::string::npos);
}

TEST_CASE("mail header: text that looks like an encoded-word or holds a tab is encoded", "[mail]")
{
  CHECK(decode_words(encode_header_value("=?UTF-8?B?abc?=")).text == "=?UTF-8?B?abc?=");
  CHECK(decode_words(encode_header_value("a\tb")).text == "a\tb");
}

TEST_CASE("mail header: CR or LF in a header value is refused, naming the header", "[mail]")
{
  CHECK_THROWS_WITH(dm::mail::check_header_value("Subject", "Report\r\nBcc: x@example.com"),
                    Catch::Contains("Subject") && Catch::Contains("line break"));
  CHECK_THROWS_AS(dm::mail::check_header_value("Subject", "a\nb"), dm::UsageError);
  CHECK_NOTHROW(dm::mail::check_header_value("Subject", "fine"));

  dm::mail::SmtpSettings settings;
  settings.url = "smtp://127.0.0.1:1";
  dm::mail::Message m;
  m.from = "reports@example.com";
  m.to = {"ops@example.com"};
  m.subject = "Weekly\nBcc: spy@example.com";
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("Subject"));
  CHECK_THROWS_AS(dm::mail::send(settings, m), dm::UsageError);

  m.subject = "Weekly";
  m.to = {"ops@example.com\r\nBcc: spy@example.com"};
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("To"));

  m.to = {"ops@example.com"};
  m.attachments.push_back({"report\r\n.pdf", "application/pdf", "x"});
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("filename"));
}

TEST_CASE("mail message: no recipient or a malformed address is refused before connecting", "[mail]")
{
  dm::mail::SmtpSettings settings;
  settings.url = "smtp://127.0.0.1:1";
  dm::mail::Message m;
  m.from = "reports@example.com";
  m.subject = "Weekly";
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("no recipient"));
  CHECK_THROWS_AS(dm::mail::send(settings, m), dm::UsageError);

  m.to = {"ops@example.com", "not an address"};
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("'not an address'"));
  CHECK_THROWS_AS(dm::mail::send(settings, m), dm::UsageError);

  m.to = {"ops@example.com"};
  m.from = "Reports <reports@@example.com>";
  CHECK_THROWS_WITH(dm::mail::send(settings, m), Catch::Contains("From"));
  CHECK_THROWS_AS(dm::mail::send(settings, m), dm::UsageError);
  // A display name with a valid address passes the checks (and then meets no server).
  m.from = "DriveMaster Reports <reports@example.com>";
  CHECK_THROWS_AS(dm::mail::send(settings, m), dm::mail::DeliveryError);
}

TEST_CASE("mail date: RFC 5322 date-time in UTC", "[mail]")
{
  CHECK(dm::mail::format_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
  // 2026-12-07T17:54:57Z
  CHECK(dm::mail::format_date(1796666097) == "Mon, 07 Dec 2026 17:54:57 +0000");
  // 2024-02-29T09:05:03Z
  CHECK(dm::mail::format_date(1709197503) == "Thu, 29 Feb 2024 09:05:03 +0000");
}

TEST_CASE("mail message id: unique, in angle brackets, at the sender's domain", "[mail]")
{
  const std::string a = dm::mail::make_message_id("reports@mail.example.com");
  const std::string b = dm::mail::make_message_id("reports@mail.example.com");
  CHECK(a != b);
  CHECK(a.front() == '<');
  CHECK(a.size() > 20);
  CHECK(a.substr(a.size() - 18) == "@mail.example.com>");
  CHECK(a.find('@') == a.rfind('@'));
}

TEST_CASE("mail settings: from the [smtp] section", "[mail]")
{
  SECTION("no url means no e-mail")
  {
    const auto s = dm::mail::settings_from_config({});
    CHECK(s.url.empty());
  }
  SECTION("url and sender without authentication")
  {
    const auto s = dm::mail::settings_from_config(smtp_config());
    CHECK(s.url == "smtp://mail.example.com:587");
    CHECK(s.username.empty());
    CHECK(s.password.empty());
    CHECK(s.timeout == std::chrono::seconds(30));
  }
  SECTION("the password file is read, its trailing newline stripped")
  {
    const ScratchFile file("s3cret pass\n");
    auto c = smtp_config();
    c.url = "smtps://mail.example.com:465";
    c.username = "reports";
    c.password_file = file.path.string();
    const auto s = dm::mail::settings_from_config(c);
    CHECK(s.url == "smtps://mail.example.com:465");
    CHECK(s.username == "reports");
    CHECK(s.password == "s3cret pass");
  }
}

TEST_CASE("mail settings: a url without a sender, a wrong scheme or a missing password file is refused",
          "[mail]")
{
  auto c = smtp_config();
  c.from.clear();
  CHECK_THROWS_WITH(dm::mail::settings_from_config(c), Catch::Contains("smtp.from"));
  CHECK_THROWS_AS(dm::mail::settings_from_config(c), dm::UsageError);

  c = smtp_config();
  c.url = "http://mail.example.com";
  CHECK_THROWS_WITH(dm::mail::settings_from_config(c),
                    Catch::Contains("smtp.url") && Catch::Contains("http://mail.example.com"));
  CHECK_THROWS_AS(dm::mail::settings_from_config(c), dm::UsageError);

  c = smtp_config();
  c.url = "smtp://user:hunter2@mail.example.com:587";
  CHECK_NOTHROW(dm::mail::settings_from_config(c));
  c.url = "imap://user:hunter2@mail.example.com";
  CHECK_THROWS_WITH(dm::mail::settings_from_config(c), !Catch::Contains("hunter2"));

  c = smtp_config();
  c.username = "reports";
  c.password_file = "/nonexistent/dm-smtp-password";
  CHECK_THROWS_WITH(dm::mail::settings_from_config(c),
                    Catch::Contains("/nonexistent/dm-smtp-password") && Catch::Contains("No such file"));
  CHECK_THROWS_AS(dm::mail::settings_from_config(c), dm::UsageError);

  c = smtp_config();
  c.password_file = "/nonexistent/dm-smtp-password";
  CHECK_THROWS_WITH(dm::mail::settings_from_config(c), Catch::Contains("smtp.username"));
}
