#include "dm/render/pdf_page_flow.hpp"

#include "dm/render/pdf_document.hpp"
#include "dm/render/pdf_text.hpp"
#include "dm/render/pdf_theme.hpp"

namespace dm::render::pdf {

PageFlow::PageFlow(Document& doc, const Theme& theme, std::string running_left, std::string running_right)
    : doc_(doc),
      theme_(theme),
      running_left_(std::move(running_left)),
      running_right_(std::move(running_right))
{
}

float PageFlow::space_left() const noexcept
{
  return y_ - Theme::margin_bottom;
}

void PageFlow::advance(float height)
{
  y_ -= height;
  fresh_ = false;
}

bool PageFlow::ensure(float height)
{
  if (height <= space_left() || fresh_)
    return false;
  new_page();
  return true;
}

void PageFlow::new_page()
{
  if (canvas_)
    canvas_->finish();
  HPDF_Page page = doc_.add_page();
  pages_.push_back(page);
  canvas_.emplace(doc_, page);
  y_ = Theme::page_height - Theme::margin_top;
  fresh_ = true;
  if (pages_.size() == 1)
    return;

  const float baseline = y_ - 7;
  const float right_width = text_width(theme_.page_marks, running_right_);
  canvas_->text(Theme::content_left, baseline, theme_.page_marks,
                fit_text(running_left_, theme_.page_marks, Theme::content_width - right_width - 12));
  canvas_->text_right(Theme::content_right, baseline, theme_.page_marks, running_right_);
  canvas_->line({Theme::content_left, baseline - 5}, {Theme::content_right, baseline - 5}, 0.5f, Theme::rule);
  y_ = baseline - 5 - 14;
}

void PageFlow::write_footers(const std::string& left)
{
  if (canvas_)
    canvas_->finish();
  const std::string total = std::to_string(pages_.size());
  for (std::size_t i = 0; i < pages_.size(); ++i) {
    Canvas canvas(doc_, pages_[i]);
    const float baseline = Theme::footer_baseline;
    canvas.line({Theme::content_left, baseline + 11}, {Theme::content_right, baseline + 11}, 0.5f, Theme::rule);
    canvas.text(Theme::content_left, baseline, theme_.page_marks, left);
    canvas.text_right(Theme::content_right, baseline, theme_.page_marks,
                      "Page " + std::to_string(i + 1) + " of " + total);
    canvas.finish();
  }
  // The current page's Canvas no longer knows the page's graphics state.
  canvas_.reset();
}

} // namespace dm::render::pdf
