#pragma once

// Decoding of the image files that image-folder datasets hold: JPEG (libjpeg) and PNG (libpng).

#include <torch/types.h>

#include <string>

namespace nncf_sample {

/// The JPEG or PNG image at `path` as a uint8 [H, W, 3] RGB tensor. The format is told by the file's
/// signature, not its extension. Grayscale is expanded to RGB, alpha is dropped (not composited, like
/// PIL's convert("RGB")), and CMYK JPEGs are read as Adobe's inverted CMYK. Throws
/// std::runtime_error "<path>: <what is wrong>" for a file that cannot be opened, is empty, is
/// neither format, is truncated or corrupt, or whose header claims more than 2^28 pixels.
torch::Tensor decode_image(const std::string& path);

}  // namespace nncf_sample
