#pragma once
// The error libharu reports, as an exception.

#include <stdexcept>

namespace dm::render {

/// libharu reported an error while building a PDF. The numbers are libharu's
/// (hpdf_error.h): error_no names the failure, detail_no is the errno or
/// sub-code it gives with some of them.
class PdfError : public std::runtime_error {
public:
  PdfError(unsigned long error_no, unsigned long detail_no);

  unsigned long error_no() const noexcept { return error_no_; }
  unsigned long detail_no() const noexcept { return detail_no_; }

private:
  unsigned long error_no_;
  unsigned long detail_no_;
};

} // namespace dm::render
