#pragma once
// A file with given contents, removed at the end of the test.

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace dm::test {

class TempFile {
public:
  TempFile(const std::string& contents, const std::string& suffix = ".csv")
  {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("dm-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + suffix);
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile()
  {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

} // namespace dm::test
