#pragma once
// One libharu document with its fonts: creation, error reporting, saving.

#include "dm/render/pdf_font_face.hpp"
#include "dm/render/pdf_renderer.hpp"
#include "dm/util/time.hpp"

#include <hpdf.h>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace dm::render::pdf {

/// Owns an HPDF_Doc (freed on every path, including exceptions) with full
/// compression, UTF-8 encodings and the regular and bold fonts embedded.
///
/// libharu reports errors through a C callback. Throwing out of it would
/// unwind through C frames and leave the document half-updated, so the
/// callback only records the first error and check(), which every drawing
/// wrapper calls after its libharu calls, throws it as a PdfError.
///
/// Not thread-safe; not movable (libharu holds a pointer to it). Separate
/// Documents on separate threads are independent.
class Document {
public:
  /// Throws std::runtime_error naming the path when a font file is missing,
  /// PdfError when libharu fails.
  explicit Document(const PdfOptions& options);

  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  HPDF_Doc handle() const noexcept { return doc_.get(); }
  const FontFace& regular() const noexcept { return *regular_; }
  const FontFace& bold() const noexcept { return *bold_; }

  /// Appends an A4 portrait page.
  HPDF_Page add_page();

  /// Sets the title and creator and both document dates to `created` (UTC),
  /// so that the bytes depend on the report only, never on the wall clock.
  void set_info(const std::string& title, util::Micros created);

  /// Throws PdfError when libharu has reported an error.
  void check() const;

  /// The finished PDF.
  std::string save();

private:
  struct Free {
    void operator()(HPDF_Doc doc) const noexcept { HPDF_Free(doc); }
  };

  static void record_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void* user_data) noexcept;
  FontFace load_font(const std::string& path);

  HPDF_STATUS error_no_ = HPDF_OK;
  HPDF_STATUS detail_no_ = 0;
  std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, Free> doc_;
  std::optional<FontFace> regular_;
  std::optional<FontFace> bold_;
};

} // namespace dm::render::pdf
