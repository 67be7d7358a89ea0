#include "image_decode.h"

#include <torch/torch.h>

#include <cstdio>  // before jpeglib.h, which uses FILE and size_t

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace nncf_sample {
namespace {

// Every decoding error: "<file>: <what is wrong>", like the datasets' own.
template <typename... Args>
[[noreturn]] void fail(const std::string& path, const Args&... what) {
  throw std::runtime_error(c10::str(path, ": ", what...));
}

struct Pixels {
  std::vector<uint8_t> rgb;  // HWC
  int64_t height = 0, width = 0;
};

// A corrupt header can claim any size; refuse before allocating rather than fail with bad_alloc.
constexpr uint64_t kMaxPixels = uint64_t{1} << 28;

// Note [libjpeg errors]: libjpeg's default error handler calls exit(). Ours longjmps back to
// decode_jpeg_raw, whose frame holds no objects with destructors (longjmp would skip them); the C++
// exception is thrown only after the jump. A premature end of data (only a warning to libjpeg) counts
// as an error: a truncated file would otherwise decode into a half-gray image without a word.
struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
  if (level < 0) cinfo->err->num_warnings++;  // other corrupt-data warnings are tolerated, quietly
}

bool decode_jpeg_raw(const uint8_t* data, size_t size, JpegErrorManager* err, Pixels* out) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err->base);
  err->base.error_exit = jpeg_error_exit;
  err->base.emit_message = jpeg_emit_message;
  jpeg_create_decompress(&cinfo);
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (uint64_t{cinfo.image_width} * cinfo.image_height > kMaxPixels) {
    std::snprintf(err->message, sizeof err->message, "%ux%u pixels, too large", cinfo.image_width,
                  cinfo.image_height);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg expands grayscale to RGB itself
  jpeg_start_decompress(&cinfo);
  const size_t w = cinfo.output_width, comps = cinfo.output_components;
  out->height = cinfo.output_height;
  out->width = cinfo.output_width;
  out->rgb.resize(out->height * w * comps);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->rgb.data() + cinfo.output_scanline * w * comps;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (cmyk) {  // Adobe's inverted CMYK, as most CMYK JPEGs store it: R = C * K / 255
    const size_t n = out->height * w;
    for (size_t p = 0; p < n; ++p) {
      const uint8_t* s = &out->rgb[4 * p];
      for (int c = 0; c < 3; ++c) out->rgb[3 * p + c] = static_cast<uint8_t>(s[c] * s[3] / 255);
    }
    out->rgb.resize(3 * n);
  }
  return true;
}

}  // namespace

torch::Tensor decode_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    Pixels pixels;
    JpegErrorManager err;
    if (!decode_jpeg_raw(bytes.data(), bytes.size(), &err, &pixels))
      fail(path, "cannot decode JPEG: ", err.message);
    torch::Tensor out = torch::empty({pixels.height, pixels.width, 3}, torch::kUInt8);
    std::memcpy(out.data_ptr<uint8_t>(), pixels.rgb.data(), pixels.rgb.size());
    return out;
  }
  if (bytes.size() >= 8 && png_sig_cmp(bytes.data(), 0, 8) == 0) {
    // The simplified API reports errors through `message` and never exits.
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
      fail(path, "cannot decode PNG: ", image.message);
    if (uint64_t{image.width} * image.height > kMaxPixels) {
      png_image_free(&image);
      fail(path, "cannot decode PNG: ", image.width, "x", image.height, " pixels, too large");
    }
    image.format = PNG_FORMAT_RGBA;  // alpha is dropped below rather than composited, like PIL's convert
    std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, rgba.data(), 0, nullptr))
      fail(path, "cannot decode PNG: ", image.message);
    torch::Tensor out = torch::empty({int64_t{image.height}, int64_t{image.width}, 3}, torch::kUInt8);
    uint8_t* rgb = out.data_ptr<uint8_t>();
    const size_t n = static_cast<size_t>(image.height) * image.width;
    for (size_t p = 0; p < n; ++p) std::memcpy(&rgb[3 * p], &rgba[4 * p], 3);
    return out;
  }
  fail(path, bytes.empty() ? "empty file" : "neither a JPEG nor a PNG image");
}

}  // namespace nncf_sample
