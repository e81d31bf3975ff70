#pragma once
// The dashboard page served at `/`, compiled in from share/web/index.html so
// that an installed daemon needs no share/ folder.

#include <string_view>

namespace dm::daemon {

std::string_view web_page() noexcept;

} // namespace dm::daemon
