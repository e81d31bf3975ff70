#include "dm/cron/parse_error.hpp"

namespace dm::cron {

ParseError::ParseError(int field, const std::string& message) : UsageError(message), field_(field) {}

} // namespace dm::cron
