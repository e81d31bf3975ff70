#include "dm/report/report.hpp"

#include <array>

namespace dm::report {

namespace {
constexpr std::array<std::string_view, 4> type_names{"performance", "engagement", "learning", "business"};
}

const Section* Report::section(std::string_view name) const
{
  for (const Section& s : sections)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::string_view name_of(ReportType t) noexcept
{
  return type_names[static_cast<std::size_t>(t)];
}

std::optional<ReportType> report_type_from_name(std::string_view name) noexcept
{
  for (std::size_t i = 0; i < type_names.size(); ++i)
    if (type_names[i] == name)
      return static_cast<ReportType>(i);
  return std::nullopt;
}

const std::vector<std::string_view>& section_names_of(ReportType t)
{
  static const std::array<std::vector<std::string_view>, 4> names{{
      {"kpis", "services", "endpoints", "timeline", "recommendations"},
      {"kpis", "daily", "cohorts", "segments"},
      {"kpis", "topics", "struggling"},
      {"kpis", "daily_revenue", "plans"},
  }};
  return names[static_cast<std::size_t>(t)];
}

std::string_view main_section_of(ReportType t) noexcept
{
  switch (t) {
  case ReportType::performance:
    return "services";
  case ReportType::engagement:
    return "daily";
  case ReportType::learning:
    return "topics";
  case ReportType::business:
    return "daily_revenue";
  }
  return "kpis";
}

std::string_view name_of(Trend t) noexcept
{
  switch (t) {
  case Trend::up:
    return "up";
  case Trend::down:
    return "down";
  case Trend::flat:
    break;
  }
  return "flat";
}

std::string title_of(ReportType t)
{
  std::string s(name_of(t));
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s + " report";
}

} // namespace dm::report
