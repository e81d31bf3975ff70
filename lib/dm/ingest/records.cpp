#include "dm/ingest/records.hpp"

namespace dm::ingest {

std::optional<Kind> kind_from_name(std::string_view name) noexcept
{
  for (std::size_t i = 0; i < kind_names.size(); ++i)
    if (kind_names[i] == name)
      return static_cast<Kind>(i);
  return std::nullopt;
}

std::string_view name_of(Kind kind) noexcept
{
  return kind_names[static_cast<std::size_t>(kind)];
}

std::string_view table_of(Kind kind) noexcept
{
  static constexpr std::array<std::string_view, 5> tables{
      "dm.users", "dm.learning_events", "dm.payments", "dm.request_metrics", "dm.host_samples"};
  return tables[static_cast<std::size_t>(kind)];
}

} // namespace dm::ingest
