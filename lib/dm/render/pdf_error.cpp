#include "dm/render/pdf_error.hpp"

#include <hpdf.h>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

namespace dm::render {

namespace {

/// The libharu errors a report renderer can meet, named for the message.
constexpr std::array<std::pair<unsigned long, std::string_view>, 14> error_names{{
    {HPDF_FAILD_TO_ALLOC_MEM, "out of memory"},
    {HPDF_FILE_IO_ERROR, "file I/O error"},
    {HPDF_FILE_OPEN_ERROR, "cannot open file"},
    {HPDF_INVALID_DOCUMENT, "invalid document"},
    {HPDF_INVALID_FONT, "invalid font"},
    {HPDF_INVALID_FONT_NAME, "invalid font name"},
    {HPDF_INVALID_ENCODER, "invalid encoder"},
    {HPDF_INVALID_ENCODING_NAME, "invalid encoding name"},
    {HPDF_INVALID_PAGE, "invalid page"},
    {HPDF_PAGE_INVALID_GMODE, "operator not allowed in the current graphics mode"},
    {HPDF_PAGE_OUT_OF_RANGE, "value out of range"},
    {HPDF_PAGE_FONT_NOT_FOUND, "no font set"},
    {HPDF_TTF_INVALID_FOMAT, "invalid TrueType font"},
    {HPDF_INVALID_DATE_TIME, "invalid date"},
}};

std::string describe(unsigned long error_no, unsigned long detail_no)
{
  std::array<char, 96> numbers{};
  std::snprintf(numbers.data(), numbers.size(), "libharu error 0x%04lX (detail %lu)", error_no, detail_no);
  std::string message = numbers.data();
  for (const auto& [code, name] : error_names)
    if (code == error_no) {
      message += ": ";
      message += name;
    }
  return message;
}

} // namespace

PdfError::PdfError(unsigned long error_no, unsigned long detail_no)
    : std::runtime_error(describe(error_no, detail_no)),
      error_no_(error_no),
      detail_no_(detail_no)
{
}

} // namespace dm::render
