// dm_seed_csv learning ROWS: writes ROWS learning events from the seed
// generator as CSV on stdout, so that the ingest benchmark loads realistic
// sessions (a few topics each, time-ordered) rather than uniform noise.
// dm_seed_csv requests SEED: the request samples of 90 days for another seed,
// to scale the request volume of the reports benchmark.

#include "dm/seed/generator.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

class CsvSink final : public dm::ingest::RecordSink {
public:
  explicit CsvSink(std::uint64_t limit) : limit_(limit)
  {
    if (limit > 0)
      out_ = "ts,user_id,session_id,kind,topic,correct,answer_ms,score\n";
  }
  ~CsvSink() override { flush(); }

  void add(const dm::ingest::LearningRecord& r) override
  {
    if (written_ >= limit_)
      return;
    ++written_;
    out_ += dm::util::format_rfc3339_utc(r.ts);
    fmt::format_to(std::back_inserter(out_), ",{},", r.user_id);
    if (r.session_id)
      fmt::format_to(std::back_inserter(out_), "{}", *r.session_id);
    out_ += ',';
    out_ += dm::ingest::learning_kind_names[static_cast<std::size_t>(r.kind)];
    out_ += ',';
    if (r.topic)
      out_ += *r.topic;
    out_ += ',';
    if (r.correct)
      out_ += *r.correct ? "true" : "false";
    out_ += ',';
    if (r.answer_ms)
      fmt::format_to(std::back_inserter(out_), "{}", *r.answer_ms);
    out_ += ',';
    if (r.score)
      fmt::format_to(std::back_inserter(out_), "{:.3f}", *r.score);
    out_ += '\n';
    if (out_.size() > (1 << 20))
      flush();
  }
  void add(const dm::ingest::UserRecord&) override {}
  void add(const dm::ingest::PaymentRecord&) override {}
  void add(const dm::ingest::RequestRecord& r) override
  {
    if (!requests_header_) {
      out_ = "ts,service,endpoint,status,duration_ms\n";
      requests_header_ = true;
    }
    out_ += dm::util::format_rfc3339_utc(r.ts);
    fmt::format_to(std::back_inserter(out_), ",{},{},{},{}\n", r.service, r.endpoint.value_or(""), r.status, r.duration_ms);
    if (out_.size() > (1 << 20))
      flush();
  }
  void add(const dm::ingest::HostRecord&) override {}
  std::uint64_t written() const { return written_; }

private:
  void flush()
  {
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    out_.clear();
  }
  std::string out_;
  std::uint64_t limit_;
  bool requests_header_ = false;
  std::uint64_t written_ = 0;
};

} // namespace

int main(int argc, char** argv)
{
  if (argc != 3 || (std::string(argv[1]) != "learning" && std::string(argv[1]) != "requests")) {
    std::fprintf(stderr, "usage: dm_seed_csv learning ROWS | dm_seed_csv requests SEED\n");
    return 2;
  }
  dm::seed::SeedOptions options;
  options.days = 90;
  options.seed = 1;
  options.end = *dm::util::parse_date_or_timestamp("2026-11-01");
  if (std::string(argv[1]) == "requests") {
    options.seed = std::strtoull(argv[2], nullptr, 10);
    CsvSink sink(0);
    dm::seed::Generator(options).requests(sink);
    return 0;
  }
  const std::uint64_t rows = std::strtoull(argv[2], nullptr, 10);
  // About 350 learning rows per user over 90 days: size the cohort to fill ROWS.
  options.users = static_cast<int>(rows / 300 + 1);
  CsvSink sink(rows);
  dm::seed::Generator(options).learning(sink);
  if (sink.written() < rows) {
    std::fprintf(stderr, "dm_seed_csv: only %llu rows generated\n", static_cast<unsigned long long>(sink.written()));
    return 1;
  }
  return 0;
}
