#pragma once
// Verified tokens, so that a client sending the same bearer token on every
// request costs one hash lookup instead of a base64 + JSON + HMAC pass. A
// token's claims never change, so only the time checks (exp, nbf, with the
// leeway) are made again on each use. Bounded: a full shard is emptied.
//
// Thread-safe (sharded locks).

#include "dm/auth/claims.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dm::daemon {

class TokenCache {
public:
  explicit TokenCache(std::int64_t leeway_s, std::size_t max_entries = 65536);

  /// The claims of a token verified before, if it is still valid at `now_unix`.
  std::optional<auth::Claims> find(std::string_view token, std::int64_t now_unix) const;
  /// Remembers a token that verified.
  void insert(std::string_view token, const auth::Claims& claims);

private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, auth::Claims> entries;
  };
  Shard& shard_for(std::string_view token) const;

  std::int64_t leeway_s_;
  std::size_t max_per_shard_;
  mutable std::array<Shard, 16> shards_;
};

} // namespace dm::daemon
