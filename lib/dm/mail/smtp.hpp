#pragma once
// E-mail delivery of scheduled reports (DESIGN 6, `[smtp]` in DESIGN 12):
// one MIME message (a UTF-8 text/plain body plus base64 attachments) sent
// through libcurl's SMTP client, with STARTTLS when the server offers it on
// smtp:// and implicit TLS on smtps://.
//
// Thread-safe: every send() uses its own connection. Blocking (up to
// SmtpSettings::timeout), so event-loop callers run it on a worker.

#include "dm/util/error.hpp"

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace dm::config {
struct SmtpConfig;
}

namespace dm::mail {

struct Attachment {
  std::string filename;     ///< `report-42.pdf`; UTF-8 allowed
  std::string content_type; ///< `application/pdf`; empty = application/octet-stream
  std::string data;         ///< the bytes, sent base64-encoded
};

struct Message {
  std::string from;                    ///< reports@example.com or `DriveMaster Reports <reports@example.com>`
  std::vector<std::string> to;         ///< at least one address
  std::string subject;                 ///< UTF-8; non-ASCII goes out as RFC 2047 encoded-words
  std::string text;                    ///< UTF-8 text/plain body
  /// Each `Content-Disposition: attachment; filename="..."` (RFC 2231
  /// `filename*=UTF-8''...` for a name that is not ASCII), base64.
  std::vector<Attachment> attachments;
};

struct SmtpSettings {
  /// `smtp://host:port` (STARTTLS when the server offers it) or `smtps://host:port`.
  std::string url;
  /// Empty = no AUTH.
  std::string username;
  std::string password;
  /// Limit of the connection and of the whole transfer.
  std::chrono::milliseconds timeout{30000};
};

/// A delivery that did not happen: the server is down or slow, refused a
/// recipient or the credentials. what() names the server URL (password
/// redacted), the recipients, curl's error and the server's last error
/// reply when there was one, e.g. "e-mail to a@x.org via smtp://127.0.0.1:2525
/// failed: Couldn't connect to server (...)". Exit 1.
class DeliveryError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Settings from the `[smtp]` config section. Reads `password_file` (one
/// trailing newline stripped); a missing or unreadable file is a UsageError
/// naming the file. Throws UsageError when url is set but from is empty or
/// not an address, when the url scheme is not smtp or smtps, or when a
/// password file is given without a username. An empty url gives empty
/// settings (no e-mail).
SmtpSettings settings_from_config(const config::SmtpConfig& smtp);

/// Sends one message. Throws UsageError for a malformed message (no
/// recipient, an address that is not local@domain, CR or LF in a header
/// value, naming the header) and DeliveryError when the server does not take it.
void send(const SmtpSettings& settings, const Message& message);

// Pieces of the message, exposed for tests.

/// A header value as it goes on the wire: printable ASCII unchanged;
/// anything else as RFC 2047 `=?UTF-8?B?...?=` encoded-words of at most 75
/// characters each, split between whole UTF-8 characters and folded onto
/// continuation lines ("\r\n ").
std::string encode_header_value(std::string_view value);

/// RFC 5322 date-time in UTC: "Mon, 07 Dec 2026 17:54:57 +0000".
std::string format_date(std::time_t t);

/// A new globally unique `<...@domain>` Message-ID, the domain taken from `from`.
std::string make_message_id(std::string_view from);

/// Throws UsageError naming `header` when `value` holds a CR or LF.
void check_header_value(std::string_view header, std::string_view value);

} // namespace dm::mail
