#include "dm/mail/smtp.hpp"

#include "dm/config/config.hpp"
#include "dm/config/config_checks.hpp"
#include "dm/schedule/store.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string_view>

namespace dm::mail {

namespace {

/// Longest UTF-8 run in one encoded-word: 45 bytes are 60 base64 characters,
/// which with `=?UTF-8?B?` and `?=` make the 72 characters RFC 2047 allows (75).
constexpr std::size_t encoded_word_bytes = 45;

std::string base64(std::string_view bytes)
{
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2)
      n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool is_printable_ascii(std::string_view text) noexcept
{
  for (const char c : text)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

/// True for a byte that continues a UTF-8 sequence (10xxxxxx).
bool is_continuation(char c) noexcept
{
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::string join(const std::vector<std::string>& items, std::string_view separator)
{
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += separator;
    out += item;
  }
  return out;
}

/// `text` with every line ending as CRLF, as SMTP and quoted-printable want.
std::string crlf_lines(std::string_view text)
{
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// `attachment; filename="..."`; a name that is not plain ASCII goes in the
/// RFC 2231 form `filename*=UTF-8''...` instead, as mail programs write it.
std::string content_disposition(std::string_view filename)
{
  if (is_printable_ascii(filename)) {
    std::string quoted;
    for (const char c : filename) {
      if (c == '"' || c == '\\')
        quoted += '\\';
      quoted += c;
    }
    return fmt::format("Content-Disposition: attachment; filename=\"{}\"", quoted);
  }
  std::string header = "Content-Disposition: attachment; filename*=UTF-8''";
  for (const char c : filename) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
        (c != '\0' && std::strchr("!#$&+-.^_`|~", c) != nullptr))
      header += c;
    else
      header += fmt::format("%{:02X}", u);
  }
  return header;
}

std::string read_password_file(const std::string& path)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw UsageError(fmt::format("smtp.password_file '{}': cannot open: {}", path, std::strerror(errno)));
  std::string out;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      const int error = errno;
      ::close(fd);
      throw UsageError(fmt::format("smtp.password_file '{}': cannot read: {}", path, std::strerror(error)));
    }
    if (n == 0)
      break;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  if (!out.empty() && out.back() == '\r')
    out.pop_back();
  return out;
}

/// The address of a sender given as `local@domain` or `Name <local@domain>`,
/// and its display name (empty for the first form; quotes removed).
std::pair<std::string, std::string> split_mailbox(const std::string& from)
{
  const auto open = from.rfind('<');
  if (from.empty() || from.back() != '>' || open == std::string::npos)
    return {std::string(), from};
  std::string name = from.substr(0, open);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
    name.pop_back();
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = name.substr(1, name.size() - 2);
  return {name, from.substr(open + 1, from.size() - open - 2)};
}

/// The From header's value: the address, with its display name quoted or
/// encoded when there is one.
std::string from_header(const std::string& from)
{
  const auto [name, address] = split_mailbox(from);
  if (name.empty())
    return address;
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain && name.find("=?") == std::string::npos)
    return "\"" + name + "\" <" + address + ">";
  return encode_header_value(name) + " <" + address + ">";
}

void check_address(std::string_view header, const std::string& address)
{
  check_header_value(header, address);
  if (!schedule::is_valid_address(address))
    throw UsageError(fmt::format("{} '{}': not an e-mail address (expected local@domain)", header, address));
}

void check_message(const Message& m)
{
  check_header_value("From", m.from);
  check_address("From", split_mailbox(m.from).second);
  if (m.to.empty())
    throw UsageError("e-mail has no recipient (To is empty)");
  for (const auto& a : m.to)
    check_address("To", a);
  check_header_value("Subject", m.subject);
  for (const auto& a : m.attachments) {
    if (a.filename.empty())
      throw UsageError("attachment without a filename (Content-Disposition needs one)");
    check_header_value("Content-Disposition filename", a.filename);
    check_header_value("Content-Type", a.content_type);
  }
}

void global_init()
{
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK)
    throw std::runtime_error(fmt::format("libcurl initialisation failed: {}", curl_easy_strerror(code)));
}

struct EasyDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const noexcept { curl_mime_free(m); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Mime = std::unique_ptr<curl_mime, MimeDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

/// Appends to a list; std::bad_alloc when libcurl cannot.
void append(List& list, const std::string& item)
{
  curl_slist* grown = curl_slist_append(list.get(), item.c_str());
  if (grown == nullptr)
    throw std::bad_alloc();
  (void)list.release();
  list.reset(grown);
}

/// The server's last error reply (4xx or 5xx), kept from libcurl's protocol
/// trace: later replies such as the 221 to QUIT say nothing about the failure.
struct Trace {
  std::string last_error_reply;
};

int trace_callback(CURL*, curl_infotype type, char* data, std::size_t size, void* user)
{
  if (type != CURLINFO_HEADER_IN)
    return 0;
  std::string_view text(data, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  const auto newline = text.rfind('\n');
  if (newline != std::string_view::npos)
    text.remove_prefix(newline + 1);
  if (!text.empty() && (text.front() == '4' || text.front() == '5'))
    static_cast<Trace*>(user)->last_error_reply.assign(text);
  return 0;
}

/// Throws std::runtime_error naming the option when libcurl refuses a setting.
void check(CURLcode code, const char* what)
{
  if (code != CURLE_OK)
    throw std::runtime_error(fmt::format("libcurl refused {}: {}", what, curl_easy_strerror(code)));
}

} // namespace

std::string encode_header_value(std::string_view value)
{
  if (is_printable_ascii(value) && value.find("=?") == std::string_view::npos)
    return std::string(value);
  std::string out;
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = std::min(value.size(), start + encoded_word_bytes);
    // Back up to the start of a character, unless one character is all there is.
    while (end < value.size() && end > start + 1 && is_continuation(value[end]))
      --end;
    if (!out.empty())
      out += "\r\n ";
    out += "=?UTF-8?B?";
    out += base64(value.substr(start, end - start));
    out += "?=";
    start = end;
  }
  return out;
}

std::string format_date(std::time_t t)
{
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr)
    throw std::runtime_error(fmt::format("time {} cannot be shown as a date", static_cast<long long>(t)));
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", days.at(static_cast<std::size_t>(tm.tm_wday)),
                     tm.tm_mday, months.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string make_message_id(std::string_view from)
{
  const auto at = from.rfind('@');
  const std::string_view domain = at == std::string_view::npos ? std::string_view("localhost") : from.substr(at + 1);
  thread_local std::mt19937_64 random{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return fmt::format("<{:x}.{:016x}{:016x}@{}>", now, random(), random(), domain);
}

void check_header_value(std::string_view header, std::string_view value)
{
  if (value.find_first_of("\r\n") != std::string_view::npos)
    throw UsageError(fmt::format("{} header: a line break (CR or LF) is not allowed in a header value", header));
}

SmtpSettings settings_from_config(const config::SmtpConfig& smtp)
{
  SmtpSettings settings;
  if (smtp.url.empty())
    return settings;
  if (!config::has_scheme_and_host(smtp.url, {"smtp://", "smtps://"}))
    throw UsageError(fmt::format("smtp.url '{}': not an SMTP URL, expected smtp://host[:port] or smtps://host[:port]",
                                 config::redact_password(smtp.url)));
  if (smtp.from.empty())
    throw UsageError("smtp.from: missing, required when smtp.url is set");
  if (!schedule::is_valid_address(split_mailbox(smtp.from).second))
    throw UsageError(fmt::format("smtp.from '{}': not an e-mail address (expected local@domain or "
                                 "Name <local@domain>)",
                                 smtp.from));
  settings.url = smtp.url;
  settings.username = smtp.username;
  if (!smtp.password_file.empty()) {
    if (smtp.username.empty())
      throw UsageError(fmt::format("smtp.password_file '{}' is set but smtp.username is empty", smtp.password_file));
    settings.password = read_password_file(smtp.password_file);
  }
  return settings;
}

void send(const SmtpSettings& settings, const Message& message)
{
  check_message(message);
  if (settings.url.empty())
    throw UsageError("no SMTP server configured (smtp.url is empty)");
  global_init();

  Easy easy(curl_easy_init());
  if (!easy)
    throw std::runtime_error("libcurl could not make a transfer handle");
  CURL* c = easy.get();

  Mime mime(curl_mime_init(c));
  if (!mime)
    throw std::bad_alloc();

  const std::string body = crlf_lines(message.text);
  curl_mimepart* text = curl_mime_addpart(mime.get());
  if (text == nullptr)
    throw std::bad_alloc();
  check(curl_mime_data(text, body.data(), body.size()), "the text body");
  check(curl_mime_type(text, "text/plain; charset=utf-8"), "the text type");
  check(curl_mime_encoder(text, "quoted-printable"), "the text encoding");

  for (const auto& a : message.attachments) {
    curl_mimepart* part = curl_mime_addpart(mime.get());
    if (part == nullptr)
      throw std::bad_alloc();
    check(curl_mime_data(part, a.data.data(), a.data.size()), "an attachment");
    const std::string type = a.content_type.empty() ? "application/octet-stream" : a.content_type;
    check(curl_mime_type(part, type.c_str()), "an attachment type");
    check(curl_mime_encoder(part, "base64"), "an attachment encoding");
    List headers;
    append(headers, content_disposition(a.filename));
    check(curl_mime_headers(part, headers.get(), 1), "an attachment header");
    (void)headers.release();
  }

  List headers;
  const std::string sender = split_mailbox(message.from).second;
  append(headers, "From: " + from_header(message.from));
  append(headers, "To: " + join(message.to, ", "));
  append(headers, "Subject: " + encode_header_value(message.subject));
  append(headers, "Date: " + format_date(std::time(nullptr)));
  append(headers, "Message-ID: " + make_message_id(sender));
  append(headers, "MIME-Version: 1.0");

  List recipients;
  for (const auto& a : message.to)
    append(recipients, "<" + a + ">");
  const std::string envelope_from = "<" + sender + ">";

  Trace trace;
  std::array<char, CURL_ERROR_SIZE> error{};
  const auto timeout_ms = static_cast<long>(std::max<std::chrono::milliseconds::rep>(1, settings.timeout.count()));

  check(curl_easy_setopt(c, CURLOPT_URL, settings.url.c_str()), "the URL");
  check(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps"), "the protocols");
  check(curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY)), "STARTTLS");
  if (!settings.username.empty()) {
    check(curl_easy_setopt(c, CURLOPT_USERNAME, settings.username.c_str()), "the username");
    check(curl_easy_setopt(c, CURLOPT_PASSWORD, settings.password.c_str()), "the password");
  }
  check(curl_easy_setopt(c, CURLOPT_MAIL_FROM, envelope_from.c_str()), "the envelope sender");
  check(curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get()), "the recipients");
  check(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()), "the headers");
  check(curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get()), "the message");
  check(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms), "the connect timeout");
  check(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms), "the timeout");
  check(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), "no signals");
  check(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error.data()), "the error buffer");
  check(curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, trace_callback), "the trace");
  check(curl_easy_setopt(c, CURLOPT_DEBUGDATA, &trace), "the trace");
  check(curl_easy_setopt(c, CURLOPT_VERBOSE, 1L), "the trace");

  const CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK)
    return;

  std::string reason = curl_easy_strerror(code);
  const std::string detail = error.data();
  if (!detail.empty() && detail != reason)
    reason += fmt::format(" ({})", detail);
  if (!trace.last_error_reply.empty())
    reason += fmt::format("; the server said: {}", trace.last_error_reply);
  throw DeliveryError(fmt::format("e-mail to {} via {} failed: {}", join(message.to, ", "),
                                  config::redact_password(settings.url), reason));
}

} // namespace dm::mail
