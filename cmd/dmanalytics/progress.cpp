#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace dm::cli {

namespace {

std::string human(double v)
{
  if (v >= 1e6)
    return fmt::format("{:.1f} M", v / 1e6);
  if (v >= 1e4)
    return fmt::format("{:.0f} k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

} // namespace

std::string rate_text(std::uint64_t rows, double seconds)
{
  const double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0;
  return fmt::format("{} rows/s", human(rate));
}

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), started_(std::chrono::steady_clock::now())
{
}

Progress::~Progress()
{
  finish();
}

void Progress::update(std::uint64_t rows, std::uint64_t done, std::uint64_t total)
{
  if (!enabled_)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100))
    return;
  last_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const std::string rate = fmt::format("{} rows, {} rows/s", human(static_cast<double>(rows)),
                                       human(seconds > 0 ? static_cast<double>(rows) / seconds : 0));
  if (total > 0) {
    const double share = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    constexpr int width = 30;
    const int filled = static_cast<int>(share * width);
    std::fprintf(stderr, "\r\033[K%s [%s%s] %3.0f%%  %s", label_.c_str(),
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), share * 100,
                 rate.c_str());
  } else {
    std::fprintf(stderr, "\r\033[K%s  %s", label_.c_str(), rate.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish()
{
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

} // namespace dm::cli
