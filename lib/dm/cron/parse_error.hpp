#pragma once
// The error of a malformed cron expression.

#include "dm/util/error.hpp"

#include <string>

namespace dm::cron {

/// A cron expression that cannot be parsed, or that can never fire. A usage
/// error (CLI exit 2, HTTP 400). The message names the field when one is at
/// fault: "field 2 (hour): 25 is out of range 0-23".
class ParseError : public UsageError {
public:
  /// `field`: 1 (minute) to 5 (day-of-week), or 0 when the expression as a
  /// whole is at fault (field count, unknown macro, never fires).
  ParseError(int field, const std::string& message);

  /// 1 to 5 for the field at fault, 0 for the whole expression.
  int field() const noexcept { return field_; }

private:
  int field_;
};

} // namespace dm::cron
