#include "dm/render/pdf_theme.hpp"

#include "dm/render/pdf_document.hpp"

namespace dm::render::pdf {

Theme::Theme(const Document& doc)
    : title{&doc.bold(), 20, ink},
      heading{&doc.bold(), 12, ink},
      body{&doc.regular(), 9, ink},
      body_bold{&doc.bold(), 9, ink},
      label{&doc.regular(), 9, muted},
      small{&doc.regular(), 7, muted},
      table_head{&doc.bold(), 7.5f, ink},
      table_cell{&doc.regular(), 7.5f, ink},
      tile_label{&doc.regular(), 7.5f, muted},
      tile_value{&doc.bold(), 15, ink},
      page_marks{&doc.regular(), 7, muted}
{
}

} // namespace dm::render::pdf
