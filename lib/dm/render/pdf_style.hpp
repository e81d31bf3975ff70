#pragma once
// Small value types of the PDF drawing code.

namespace dm::render::pdf {

class FontFace;

/// A colour with components in [0, 1].
struct Rgb {
  float r = 0;
  float g = 0;
  float b = 0;

  friend bool operator==(const Rgb&, const Rgb&) = default;
};

/// How a run of text is set. `face` is owned by the Document.
struct TextStyle {
  const FontFace* face = nullptr;
  float size = 9;
  Rgb colour;
};

/// A point in PDF user space (points, y upwards).
struct Point {
  float x = 0;
  float y = 0;
};

} // namespace dm::render::pdf
