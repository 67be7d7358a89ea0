#include "datasets.h"

#include "dataset_test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>  // before jpeglib.h

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>  // crc32

#include <cstring>
#include <filesystem>
#include <set>

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;
using namespace test_util;

void write_jpeg(const fs::path& path, int w, int h, const Bytes& pixels, bool cmyk = false) {
  fs::create_directories(path.parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = w;
  cinfo.image_height = h;
  cinfo.input_components = cmyk ? 4 : 3;
  cinfo.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + cinfo.next_scanline * w * cinfo.input_components;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

void write_png(const fs::path& path, int w, int h, uint32_t format, const Bytes& pixels) {
  fs::create_directories(path.parent_path());
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = format;
  ASSERT_TRUE(png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr)) << image.message;
}

float imagenet(uint8_t v, int c) {
  const float mean[] = {0.485f, 0.456f, 0.406f}, stdev[] = {0.229f, 0.224f, 0.225f};
  return (v / 255.0f - mean[c]) / stdev[c];
}

TEST(ImageFolderDataset, DecodesPngAndJpegToRgbWithSortedClasses) {
  const fs::path root = fresh_dir("folder");
  Bytes rgb(3 * 3 * 3);
  for (size_t k = 0; k < rgb.size(); ++k) rgb[k] = static_cast<uint8_t>(10 + 9 * k);
  write_png(root / "train" / "b_dog" / "rgb.png", 3, 3, PNG_FORMAT_RGB, rgb);
  write_png(root / "train" / "a_cat" / "gray.PNG", 3, 3, PNG_FORMAT_GRAY,
            {0, 30, 60, 90, 120, 150, 180, 210, 240});
  Bytes rgba(3 * 3 * 4);
  for (size_t k = 0; k < rgba.size(); ++k) rgba[k] = k % 4 == 3 ? 0 : static_cast<uint8_t>(200 - 5 * k);
  write_png(root / "train" / "a_cat" / "rgba.png", 3, 3, PNG_FORMAT_RGBA, rgba);
  write_jpeg(root / "train" / "b_dog" / "flat.jpg", 16, 16, Bytes(16 * 16 * 3, 77));
  write_file(root / "train" / "b_dog" / "notes.txt", {1, 2, 3});
  DatasetOptions o = options("imagenet", root);
  o.image_size = 3;  // the eval resize of a 3x3 image is then the identity
  auto ds = open_dataset(o);
  ASSERT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->num_classes(), 2);
  EXPECT_EQ(ds->image_shape(), (std::vector<int64_t>{3, 3, 3}));
  // Sorted: a_cat/gray.PNG, a_cat/rgba.png, b_dog/flat.jpg, b_dog/rgb.png.
  EXPECT_EQ(std::vector<int64_t>({ds->label(0), ds->label(1), ds->label(2), ds->label(3)}),
            std::vector<int64_t>({0, 0, 1, 1}));
  auto gen = generator(0);
  torch::Tensor gray = ds->image(0, gen), alpha = ds->image(1, gen), flat = ds->image(2, gen),
                color = ds->image(3, gen);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x) {
        EXPECT_NEAR(color[c][y][x].item<float>(), imagenet(rgb[(y * 3 + x) * 3 + c], c), 1e-5);
        EXPECT_NEAR(gray[c][y][x].item<float>(), imagenet(static_cast<uint8_t>(30 * (y * 3 + x)), c), 1e-5);
        EXPECT_NEAR(alpha[c][y][x].item<float>(), imagenet(rgba[(y * 3 + x) * 4 + c], c), 1e-5);
        EXPECT_NEAR(flat[c][y][x].item<float>(), imagenet(77, c), 3 / (255 * 0.224));
      }
}

TEST(ImageFolderDataset, CmykJpegBecomesRgb) {
  const fs::path root = fresh_dir("folder_cmyk");
  Bytes cmyk;
  for (int p = 0; p < 8 * 8; ++p)
    cmyk.insert(cmyk.end(), {200, 100, 50, 255});  // inverted CMYK, as Adobe writes
  write_jpeg(root / "val" / "x" / "cmyk.jpg", 8, 8, cmyk, /*cmyk=*/true);
  DatasetOptions o = options("imagenet", root, false);
  o.image_size = 8;
  auto gen = generator(0);
  torch::Tensor img = open_dataset(o)->image(0, gen);
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(img[c][4][4].item<float>(), imagenet(cmyk[c], c), 3 / (255 * 0.224));
}

TEST(ImageFolderDataset, EvalResizesAndCenterCropsTrainAugments) {
  const fs::path root = fresh_dir("folder_aug");
  Bytes wide(2 * 4 * 3);  // 4 wide, 2 high: the shorter side stays 2, the center crop keeps columns 1..2
  for (size_t k = 0; k < wide.size(); ++k) wide[k] = static_cast<uint8_t>(k * 10);
  write_png(root / "val" / "x" / "wide.png", 4, 2, PNG_FORMAT_RGB, wide);
  DatasetOptions o = options("image_folder", root, false, true);
  o.image_size = 2;
  auto ds = open_dataset(o);
  auto g0 = generator(0), g1 = generator(1);
  torch::Tensor img = ds->image(0, g0);
  ASSERT_EQ(img.sizes(), torch::IntArrayRef({3, 2, 2}));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x)
        EXPECT_NEAR(img[c][y][x].item<float>(), imagenet(wide[(y * 4 + x + 1) * 3 + c], c), 1e-5);
  EXPECT_TRUE(torch::equal(img, ds->image(0, g1)));  // no augmentation off the train split

  Bytes big(40 * 30 * 3);
  for (size_t k = 0; k < big.size(); ++k) big[k] = static_cast<uint8_t>((k * 31) % 251);
  write_png(root / "train" / "y" / "big.png", 40, 30, PNG_FORMAT_RGB, big);
  DatasetOptions t = options("image_folder", root, true, true);
  t.image_size = 8;
  auto train = open_dataset(t);
  std::set<std::vector<float>> distinct;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    auto g = generator(seed);
    torch::Tensor a = train->image(0, g);
    ASSERT_EQ(a.sizes(), torch::IntArrayRef({3, 8, 8}));
    EXPECT_TRUE(a.isfinite().all().item<bool>());
    distinct.insert(std::vector<float>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel()));
  }
  EXPECT_GT(distinct.size(), 3u);
  t.augment = false;
  t.image_size = 0;
  auto full = open_dataset(t);
  EXPECT_EQ(full->image(0, g0).sizes(), torch::IntArrayRef({3, 224, 224}));
}

TEST(DatasetErrors, UndecodableImagesAndEmptyFoldersNameThePath) {
  const fs::path root = fresh_dir("bad_images");
  fs::create_directories(root / "train" / "empty_class");
  expect_error([&] { open_dataset(options("imagenet", root)); }, {(root / "train").string(), "no images"});
  expect_error([&] { open_dataset(options("imagenet", root, false)); },
               {(root / "val").string(), "no such folder"});

  write_file(root / "train" / "c" / "garbage.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x12, 0x34, 0x56});
  write_file(root / "train" / "c" / "garbage.png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 1, 2, 3, 4});
  write_file(root / "train" / "c" / "text.jpeg", {'h', 'e', 'l', 'l', 'o'});
  write_jpeg(root / "train" / "c" / "whole.jpg", 64, 64, Bytes(64 * 64 * 3, 120));
  Bytes jpeg = read_bytes(root / "train" / "c" / "whole.jpg");
  write_file(root / "train" / "c" / "truncated.jpg", Bytes(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  write_png(root / "train" / "c" / "whole.png", 64, 64, PNG_FORMAT_RGB, Bytes(64 * 64 * 3, 120));
  Bytes png = read_bytes(root / "train" / "c" / "whole.png");
  write_file(root / "train" / "c" / "truncated.png", Bytes(png.begin(), png.begin() + png.size() / 2));

  // A well-formed header claiming 70000x70000 pixels: refused before allocating.
  Bytes huge = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&huge](const char* type, Bytes data) {
    put_be32(huge, static_cast<uint32_t>(data.size()));
    data.insert(data.begin(), type, type + 4);
    huge.insert(huge.end(), data.begin(), data.end());
    put_be32(huge, static_cast<uint32_t>(crc32(0, data.data(), static_cast<unsigned>(data.size()))));
  };
  chunk("IHDR", {0, 1, 0x11, 0x70, 0, 1, 0x11, 0x70, 8, 2, 0, 0, 0});
  chunk("IDAT", {});
  write_file(root / "train" / "c" / "zhuge.png", huge);

  DatasetOptions o = options("image_folder", root);
  o.image_size = 4;
  auto ds = open_dataset(o);
  ASSERT_EQ(ds->size(), 8);  // sorted: garbage.jpg garbage.png text.jpeg truncated.jpg truncated.png whole.*
  auto gen = generator(0);
  expect_error([&] { ds->image(0, gen); }, {"garbage.jpg", "JPEG"});
  expect_error([&] { ds->image(1, gen); }, {"garbage.png", "PNG"});
  expect_error([&] { ds->image(2, gen); }, {"text.jpeg", "neither"});
  expect_error([&] { ds->image(3, gen); }, {"truncated.jpg", "JPEG"});
  expect_error([&] { ds->image(4, gen); }, {"truncated.png", "PNG"});
  EXPECT_EQ(ds->image(5, gen).sizes(), torch::IntArrayRef({3, 4, 4}));
  EXPECT_EQ(ds->image(6, gen).sizes(), torch::IntArrayRef({3, 4, 4}));
  expect_error([&] { ds->image(7, gen); }, {"zhuge.png", "too large"});
  expect_error([&] { Loader(*ds, 8, false, 0).batch(0); }, {"garbage.jpg"});  // through the loader too
}

}  // namespace
}  // namespace nncf_sample
