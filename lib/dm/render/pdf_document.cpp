#include "dm/render/pdf_document.hpp"

#include "dm/render/pdf_error.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace dm::render::pdf {

namespace {

std::uint32_t read_u32(const unsigned char* p) noexcept
{
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

/// Whether `path` starts like a TrueType font: its version tag and a table
/// directory whose tables lie inside the file. libharu 2.3.0 reads a broken
/// directory out of bounds and crashes instead of reporting an error; the
/// fonts are trusted configuration, so this guards against a wrong path or a
/// truncated file, not against a crafted font.
bool looks_like_truetype(const std::string& path)
{
  constexpr std::size_t header_size = 12;
  constexpr std::size_t record_size = 16;
  constexpr std::size_t max_tables = 64;
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, header_size> header{};
  if (!in.read(reinterpret_cast<char*>(header.data()), header.size()))
    return false;
  const std::uint32_t version = read_u32(header.data());
  if (version != 0x00010000U && version != 0x74727565U) // 1.0 or 'true'
    return false;
  const std::size_t tables = (std::size_t{header[4]} << 8) | header[5];
  if (tables == 0 || tables > max_tables)
    return false;
  std::vector<unsigned char> directory(tables * record_size);
  if (!in.read(reinterpret_cast<char*>(directory.data()), static_cast<std::streamsize>(directory.size())))
    return false;
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec)
    return false;
  for (std::size_t i = 0; i < tables; ++i) {
    const unsigned char* record = directory.data() + i * record_size;
    const std::uint64_t offset = read_u32(record + 8);
    const std::uint64_t length = read_u32(record + 12);
    if (offset + length > size)
      return false;
  }
  return true;
}

} // namespace

Document::Document(const PdfOptions& options)
{
  doc_.reset(HPDF_New(&Document::record_error, this));
  if (!doc_)
    throw std::runtime_error("libharu could not create a PDF document");
  HPDF_SetCompressionMode(doc_.get(), HPDF_COMP_ALL);
  HPDF_UseUTFEncodings(doc_.get());
  check();
  regular_.emplace(load_font(options.regular_font));
  bold_.emplace(load_font(options.bold_font));
}

void Document::record_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void* user_data) noexcept
{
  auto* self = static_cast<Document*>(user_data);
  if (self->error_no_ == HPDF_OK) {
    self->error_no_ = error_no;
    self->detail_no_ = detail_no;
  }
}

void Document::check() const
{
  if (error_no_ != HPDF_OK)
    throw PdfError(error_no_, detail_no_);
}

FontFace Document::load_font(const std::string& path)
{
  // libharu would only say "cannot open file"; the path is what helps.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error("PDF font not found: " + path);
  if (!looks_like_truetype(path))
    throw std::runtime_error("PDF font is not a TrueType font: " + path);
  const char* name = HPDF_LoadTTFontFromFile(doc_.get(), path.c_str(), HPDF_TRUE);
  check();
  HPDF_Font font = HPDF_GetFont(doc_.get(), name, "UTF-8");
  check();
  if (name == nullptr || font == nullptr)
    throw std::runtime_error("libharu could not load the font " + path);
  return FontFace(font);
}

HPDF_Page Document::add_page()
{
  HPDF_Page page = HPDF_AddPage(doc_.get());
  check();
  HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
  check();
  return page;
}

void Document::set_info(const std::string& title, util::Micros created)
{
  const std::int64_t days = util::floor_to(created, util::micros_per_day) / util::micros_per_day;
  const util::CivilDate day = util::civil_from_days(days);
  const std::int64_t seconds = (created - days * util::micros_per_day) / util::micros_per_second;
  HPDF_Date date{};
  date.year = static_cast<HPDF_INT>(day.year);
  date.month = static_cast<HPDF_INT>(day.month);
  date.day = static_cast<HPDF_INT>(day.day);
  date.hour = static_cast<HPDF_INT>(seconds / 3600);
  date.minutes = static_cast<HPDF_INT>(seconds / 60 % 60);
  date.seconds = static_cast<HPDF_INT>(seconds % 60);
  date.ind = 'Z';
  HPDF_SetInfoDateAttr(doc_.get(), HPDF_INFO_CREATION_DATE, date);
  HPDF_SetInfoDateAttr(doc_.get(), HPDF_INFO_MOD_DATE, date);
  HPDF_SetInfoAttr(doc_.get(), HPDF_INFO_TITLE, title.c_str());
  HPDF_SetInfoAttr(doc_.get(), HPDF_INFO_CREATOR, "dmanalytics " DM_VERSION);
  check();
}

std::string Document::save()
{
  HPDF_SaveToStream(doc_.get());
  check();
  const HPDF_UINT32 size = HPDF_GetStreamSize(doc_.get());
  std::string bytes(size, '\0');
  HPDF_UINT32 read = size;
  HPDF_ReadFromStream(doc_.get(), reinterpret_cast<HPDF_BYTE*>(bytes.data()), &read);
  // Reading up to the end may report HPDF_STREAM_EOF: all was read.
  if (error_no_ == HPDF_STREAM_EOF) {
    error_no_ = HPDF_OK;
    detail_no_ = 0;
    HPDF_ResetError(doc_.get());
  }
  check();
  if (read != size)
    throw std::runtime_error("libharu returned " + std::to_string(read) + " of " + std::to_string(size) +
                             " PDF bytes");
  return bytes;
}

} // namespace dm::render::pdf
