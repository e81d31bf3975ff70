#include "dm/render/pdf_canvas.hpp"

#include "dm/render/pdf_document.hpp"

namespace dm::render::pdf {

Canvas::Canvas(const Document& doc, HPDF_Page page)
    : doc_(doc),
      page_(page)
{
}

void Canvas::begin_text()
{
  if (!in_text_) {
    HPDF_Page_BeginText(page_);
    in_text_ = true;
  }
}

void Canvas::end_text()
{
  if (in_text_) {
    HPDF_Page_EndText(page_);
    in_text_ = false;
  }
}

void Canvas::finish()
{
  end_text();
  doc_.check();
}

void Canvas::set_fill(Rgb colour)
{
  if (fill_ != colour) {
    HPDF_Page_SetRGBFill(page_, colour.r, colour.g, colour.b);
    fill_ = colour;
  }
}

void Canvas::set_stroke(Rgb colour, float line_width)
{
  if (stroke_ != colour) {
    HPDF_Page_SetRGBStroke(page_, colour.r, colour.g, colour.b);
    stroke_ = colour;
  }
  if (line_width_ != line_width) {
    HPDF_Page_SetLineWidth(page_, line_width);
    line_width_ = line_width;
  }
}

void Canvas::text(float x, float y, const TextStyle& style, const std::string& text)
{
  if (text.empty())
    return;
  begin_text();
  if (font_ != style.face->handle() || font_size_ != style.size) {
    HPDF_Page_SetFontAndSize(page_, style.face->handle(), style.size);
    font_ = style.face->handle();
    font_size_ = style.size;
  }
  set_fill(style.colour);
  HPDF_Page_TextOut(page_, x, y, text.c_str());
  doc_.check();
}

void Canvas::text_right(float right, float y, const TextStyle& style, const std::string& text)
{
  this->text(right - style.face->width(text, style.size), y, style, text);
}

void Canvas::text_centred(float centre, float y, const TextStyle& style, const std::string& text)
{
  this->text(centre - style.face->width(text, style.size) / 2, y, style, text);
}

void Canvas::fill_rect(float x, float y, float width, float height, Rgb colour)
{
  end_text();
  set_fill(colour);
  HPDF_Page_Rectangle(page_, x, y, width, height);
  HPDF_Page_Fill(page_);
  doc_.check();
}

void Canvas::stroke_rect(float x, float y, float width, float height, float line_width, Rgb colour)
{
  end_text();
  set_stroke(colour, line_width);
  HPDF_Page_Rectangle(page_, x, y, width, height);
  HPDF_Page_Stroke(page_);
  doc_.check();
}

void Canvas::line(Point from, Point to, float line_width, Rgb colour)
{
  end_text();
  set_stroke(colour, line_width);
  HPDF_Page_MoveTo(page_, from.x, from.y);
  HPDF_Page_LineTo(page_, to.x, to.y);
  HPDF_Page_Stroke(page_);
  doc_.check();
}

void Canvas::polyline(std::span<const Point> points, float line_width, Rgb colour)
{
  if (points.size() < 2)
    return;
  end_text();
  set_stroke(colour, line_width);
  HPDF_Page_MoveTo(page_, points.front().x, points.front().y);
  for (const Point& p : points.subspan(1))
    HPDF_Page_LineTo(page_, p.x, p.y);
  HPDF_Page_Stroke(page_);
  doc_.check();
}

void Canvas::fill_polygon(std::span<const Point> points, Rgb colour)
{
  if (points.size() < 3)
    return;
  end_text();
  set_fill(colour);
  HPDF_Page_MoveTo(page_, points.front().x, points.front().y);
  for (const Point& p : points.subspan(1))
    HPDF_Page_LineTo(page_, p.x, p.y);
  HPDF_Page_ClosePath(page_);
  HPDF_Page_Fill(page_);
  doc_.check();
}

void Canvas::fill_circle(Point centre, float radius, Rgb colour)
{
  end_text();
  set_fill(colour);
  HPDF_Page_Circle(page_, centre.x, centre.y, radius);
  HPDF_Page_Fill(page_);
  doc_.check();
}

} // namespace dm::render::pdf
