#include "datasets.h"

#include "image_decode.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <stdexcept>

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;

// Every dataset error: "<file or folder>: <what is wrong>".
template <typename... Args>
[[noreturn]] void fail(const fs::path& where, const Args&... what) {
  throw std::runtime_error(c10::str(where.string(), ": ", what...));
}

// ---- Randomness -----------------------------------------------------------------------------------
// Augmentations draw straight from the generator's engine: a tensor-returning at::randint per draw
// would cost more than the whole crop of a 28x28 image.

uint64_t draw_u64(at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

int64_t draw_int(at::Generator& gen, int64_t n) {  // uniform in [0, n); the bias of % is < 2^-40 here
  return n <= 1 ? 0 : static_cast<int64_t>(draw_u64(gen) % static_cast<uint64_t>(n));
}

double draw_real(at::Generator& gen, double lo, double hi) {  // uniform in [lo, hi)
  return lo + (hi - lo) * static_cast<double>(draw_u64(gen) >> 11) * 0x1.0p-53;
}

// ---- Files ----------------------------------------------------------------------------------------

void require_folder(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(dir, "no such folder");
}

// The whole file; gzip-compressed files are inflated (zlib passes plain files through unchanged).
std::vector<uint8_t> read_file(const fs::path& path) {
  if (!fs::is_regular_file(path)) fail(path, "missing file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) fail(path, "cannot open");
  gzbuffer(f, 1 << 18);
  constexpr unsigned kChunk = 1 << 22;
  std::vector<uint8_t> data;
  size_t size = 0;
  int n = 0;
  do {
    data.resize(size + kChunk);
    n = gzread(f, data.data() + size, kChunk);
    size += static_cast<size_t>(std::max(n, 0));
  } while (n > 0);
  data.resize(size);
  if (n < 0) {
    std::string message = gzerror(f, nullptr);
    gzclose_r(f);
    fail(path, "read error (" + message + "), truncated or corrupt");
  }
  if (gzclose_r(f) != Z_OK) fail(path, "truncated or corrupt gzip stream");
  return data;
}

// <root>/<name>.gz, else <root>/<name>.
fs::path find_maybe_gz(const fs::path& root, const std::string& name) {
  fs::path gz = root / (name + ".gz"), plain = root / name;
  if (fs::is_regular_file(gz)) return gz;
  if (fs::is_regular_file(plain)) return plain;
  fail(plain, "missing file (looked for it with and without .gz)");
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The dimensions of an IDX file of unsigned bytes with `ndim` dimensions, checking magic and size.
std::vector<int64_t> idx_dims(const std::vector<uint8_t>& bytes, int ndim, const fs::path& path) {
  size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (bytes.size() < header) fail(path, "truncated: ", bytes.size(), " bytes, shorter than the IDX header");
  uint32_t magic = big_endian32(bytes.data()), expected = 0x800u | static_cast<uint32_t>(ndim);
  if (magic != expected) {
    char text[96];
    std::snprintf(text, sizeof text, "bad IDX magic 0x%08x, expected 0x%08x (unsigned bytes, %d dims)", magic,
                  expected, ndim);
    fail(path, text);
  }
  std::vector<int64_t> dims;
  size_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    dims.push_back(big_endian32(bytes.data() + 4 + 4 * d));
    count *= static_cast<size_t>(dims.back());
  }
  if (bytes.size() != header + count)
    fail(path, "wrong size: the header announces ", count, " data bytes, the file has ",
         bytes.size() - header);
  return dims;
}

// ---- In-memory datasets: (Fashion-)MNIST and CIFAR ------------------------------------------------

struct InMemorySpec {
  std::string title;  // "Fashion-MNIST"
  std::vector<double> mean, std;
  int64_t num_classes;
  int64_t pad;  // random crop with this zero padding
  bool flip;    // random horizontal flip
};

class InMemoryDataset : public Dataset {
 public:
  // images: uint8 [N, C, H, W].
  InMemoryDataset(InMemorySpec spec, torch::Tensor images, std::vector<int64_t> labels,
                  const DatasetOptions& options)
      : spec_(std::move(spec)),
        images_(std::move(images)),
        labels_(std::move(labels)),
        train_(options.train),
        augment_(options.train && options.augment),
        in_channels_(images_.size(1)),
        channels_(options.channels == 0 ? images_.size(1) : options.channels) {}

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int64_t label(int64_t i) const override { return labels_.at(i); }
  int64_t num_classes() const override { return spec_.num_classes; }
  std::vector<int64_t> image_shape() const override { return {channels_, images_.size(2), images_.size(3)}; }
  std::string description() const override {
    return spec_.title + (train_ ? " train (" : " test (") + std::to_string(size()) + " images)";
  }

  torch::Tensor image(int64_t i, at::Generator& gen) const override {
    TORCH_CHECK(i >= 0 && i < size(), "sample index ", i, " out of range [0, ", size(), ")");
    const int64_t h = images_.size(2), w = images_.size(3);
    int64_t dy = 0, dx = 0;  // output (y, x) reads source (y + dy, x + dx); zero outside
    bool flip = false;
    if (augment_) {
      dy = draw_int(gen, 2 * spec_.pad + 1) - spec_.pad;
      dx = draw_int(gen, 2 * spec_.pad + 1) - spec_.pad;
      if (spec_.flip) flip = draw_int(gen, 2) == 1;
    }
    torch::Tensor out = torch::empty({channels_, h, w});
    float* dst = out.data_ptr<float>();
    const uint8_t* image = images_.data_ptr<uint8_t>() + i * in_channels_ * h * w;
    for (int64_t c = 0; c < channels_; ++c) {
      const int64_t sc = c % in_channels_;  // a gray image replicated to 3 channels
      const float scale = static_cast<float>(1.0 / (255.0 * spec_.std[sc]));
      const float zero = static_cast<float>(-spec_.mean[sc] / spec_.std[sc]);
      const uint8_t* plane = image + sc * h * w;
      for (int64_t y = 0; y < h; ++y, dst += w) {
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= h) {
          std::fill(dst, dst + w, zero);
          continue;
        }
        const uint8_t* row = plane + sy * w;
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = (flip ? w - 1 - x : x) + dx;
          dst[x] = sx < 0 || sx >= w ? zero : row[sx] * scale + zero;
        }
      }
    }
    return out;
  }

 private:
  InMemorySpec spec_;
  torch::Tensor images_;
  std::vector<int64_t> labels_;
  bool train_, augment_;
  int64_t in_channels_, channels_;
};

void check_native_shape(const DatasetOptions& o, int64_t side, int64_t channels, bool gray) {
  if (o.image_size != 0 && o.image_size != side)
    fail(o.root, o.name, " images are ", side, "x", side, "; image_size must be 0 or ", side, ", got ",
         o.image_size);
  if (o.channels != 0 && o.channels != channels && !(gray && o.channels == 3))
    fail(o.root, o.name, ": channels must be 0, ", channels, gray ? " or 3" : "", ", got ", o.channels);
}

int64_t limited(int64_t n, int64_t limit) {
  return limit > 0 ? std::min(n, limit) : n;
}

std::unique_ptr<Dataset> open_idx(const DatasetOptions& o, bool fashion) {
  check_native_shape(o, 28, 1, /*gray=*/true);
  require_folder(o.root);
  const std::string split = o.train ? "train" : "t10k";
  const fs::path image_path = find_maybe_gz(o.root, split + "-images-idx3-ubyte");
  const fs::path label_path = find_maybe_gz(o.root, split + "-labels-idx1-ubyte");
  std::vector<uint8_t> image_bytes = read_file(image_path);
  std::vector<int64_t> dims = idx_dims(image_bytes, 3, image_path);
  if (dims[1] != 28 || dims[2] != 28) fail(image_path, "expected 28x28 images, got ", dims[1], "x", dims[2]);
  std::vector<uint8_t> label_bytes = read_file(label_path);
  std::vector<int64_t> label_dims = idx_dims(label_bytes, 1, label_path);
  if (label_dims[0] != dims[0])
    fail(label_path, "holds ", label_dims[0], " labels but ", image_path.string(), " holds ", dims[0],
         " images");
  if (dims[0] == 0) fail(image_path, "holds no images");
  const int64_t n = limited(dims[0], o.limit);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = label_bytes[8 + i];
    if (labels[i] > 9) fail(label_path, "label ", labels[i], " at index ", i, " is outside 0..9");
  }
  torch::Tensor images = torch::empty({n, 1, 28, 28}, torch::kUInt8);
  std::memcpy(images.data_ptr<uint8_t>(), image_bytes.data() + 16, static_cast<size_t>(n) * 28 * 28);
  InMemorySpec spec = fashion ? InMemorySpec{"Fashion-MNIST", {0.2860}, {0.3530}, 10, 2, false}
                              : InMemorySpec{"MNIST", {0.1307}, {0.3081}, 10, 2, false};
  return std::make_unique<InMemoryDataset>(std::move(spec), std::move(images), std::move(labels), o);
}

std::unique_ptr<Dataset> open_cifar(const DatasetOptions& o, bool hundred) {
  check_native_shape(o, 32, 3, /*gray=*/false);
  require_folder(o.root);
  // The archives unpack into a subfolder; accept its parent as the root too.
  fs::path dir = o.root;
  const fs::path sub = dir / (hundred ? "cifar-100-binary" : "cifar-10-batches-bin");
  if (fs::is_directory(sub)) dir = sub;
  std::vector<std::string> files;
  if (hundred) {
    files = {o.train ? "train.bin" : "test.bin"};
  } else if (o.train) {
    for (int k = 1; k <= 5; ++k) files.push_back("data_batch_" + std::to_string(k) + ".bin");
  } else {
    files = {"test_batch.bin"};
  }
  const size_t label_bytes = hundred ? 2 : 1, pixels = 3 * 32 * 32, record = label_bytes + pixels;
  const int64_t num_classes = hundred ? 100 : 10;
  std::vector<std::vector<uint8_t>> contents;
  int64_t total = 0;
  for (const std::string& name : files) {
    contents.push_back(read_file(dir / name));
    const size_t size = contents.back().size();
    if (size == 0 || size % record != 0)
      fail(dir / name, "size ", size, " is not a positive multiple of the ", record, "-byte record (",
           label_bytes, " label bytes + 3072 pixels)");
    total += static_cast<int64_t>(size / record);
  }
  const int64_t n = limited(total, o.limit);
  torch::Tensor images = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  std::vector<int64_t> labels;
  uint8_t* dst = images.data_ptr<uint8_t>();
  for (size_t f = 0; f < files.size(); ++f) {
    const std::vector<uint8_t>& bytes = contents[f];
    for (size_t off = 0; off < bytes.size() && static_cast<int64_t>(labels.size()) < n; off += record) {
      labels.push_back(bytes[off + label_bytes - 1]);  // CIFAR-100: the fine label
      if (labels.back() >= num_classes)
        fail(dir / files[f], "label ", labels.back(), " of record ", off / record, " is outside 0..",
             num_classes - 1);
      std::memcpy(dst, bytes.data() + off + label_bytes, pixels);
      dst += pixels;
    }
  }
  InMemorySpec spec =
      hundred ? InMemorySpec{"CIFAR-100", {0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}, 100, 4, true}
              : InMemorySpec{"CIFAR-10", {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, 10, 4, true};
  return std::make_unique<InMemoryDataset>(std::move(spec), std::move(images), std::move(labels), o);
}

// ---- Image folders ------------------------------------------------------------------------------

torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w) {  // x: float [1, C, H, W]
  if (x.size(2) == h && x.size(3) == w) return x;
  return at::upsample_bilinear2d(x.contiguous(), {h, w}, /*align_corners=*/false);
}

class ImageFolderDataset : public Dataset {
 public:
  explicit ImageFolderDataset(const DatasetOptions& o) : augment_(o.train && o.augment) {
    size_ = o.image_size == 0 ? 224 : o.image_size;
    if (size_ < 0) fail(o.root, "image_size must be >= 0, got ", o.image_size);
    if (o.channels != 0 && o.channels != 3)
      fail(o.root, o.name, ": channels must be 0 or 3, got ", o.channels);
    require_folder(o.root);
    folder_ = fs::path(o.root) / (o.train ? "train" : "val");
    if (!fs::is_directory(folder_))
      fail(folder_, "no such folder (expected <root>/{train,val}/<class>/<image>)");
    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(folder_))
      if (entry.is_directory()) class_dirs.push_back(entry.path());
    std::sort(class_dirs.begin(), class_dirs.end());
    std::vector<std::pair<std::string, int64_t>> all;
    for (size_t c = 0; c < class_dirs.size(); ++c) {
      classes_.push_back(class_dirs[c].filename().string());
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(class_dirs[c])) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
          files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) all.emplace_back(f.string(), static_cast<int64_t>(c));
    }
    if (all.empty()) fail(folder_, "no images (.jpg, .jpeg, .png) in class subfolders");
    // A limit takes evenly spaced samples so that a small subset still covers every class.
    const int64_t n = limited(static_cast<int64_t>(all.size()), o.limit);
    for (int64_t k = 0; k < n; ++k) samples_.push_back(all[k * static_cast<int64_t>(all.size()) / n]);
  }

  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  int64_t label(int64_t i) const override { return samples_.at(i).second; }
  int64_t num_classes() const override { return static_cast<int64_t>(classes_.size()); }
  std::vector<int64_t> image_shape() const override { return {3, size_, size_}; }
  std::string description() const override {
    return "ImageFolder " + folder_.string() + " (" + std::to_string(size()) + " images, " +
           std::to_string(num_classes()) + " classes)";
  }

  torch::Tensor image(int64_t i, at::Generator& gen) const override {
    TORCH_CHECK(i >= 0 && i < size(), "sample index ", i, " out of range [0, ", size(), ")");
    torch::Tensor x = decode_image(samples_[i].first).unsqueeze(0).permute({0, 3, 1, 2}).to(torch::kFloat);
    const int64_t height = x.size(2), width = x.size(3);
    if (augment_) {
      auto [top, left, h, w] = random_resized_crop(height, width, gen);
      x = resize(x.slice(2, top, top + h).slice(3, left, left + w), size_, size_);
      if (draw_int(gen, 2) == 1) x = x.flip({3});
    } else {
      const int64_t shorter = std::lround(size_ * 256.0 / 224.0);
      const int64_t h = height <= width ? shorter : shorter * height / width;
      const int64_t w = height <= width ? shorter * width / height : shorter;
      const int64_t top = std::lround((h - size_) / 2.0), left = std::lround((w - size_) / 2.0);
      x = resize(x, h, w).slice(2, top, top + size_).slice(3, left, left + size_);
    }
    static const torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}) * 255;
    static const torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}) * 255;
    return ((x - mean) / std).squeeze(0).contiguous();
  }

 private:
  // torchvision's RandomResizedCrop: scale 0.08-1, aspect ratio 3/4-4/3, ten tries, then a center crop
  // clamped to the ratio range. Returns {top, left, height, width}.
  static std::array<int64_t, 4> random_resized_crop(int64_t height, int64_t width, at::Generator& gen) {
    const double area = static_cast<double>(height) * width, lo = std::log(3.0 / 4), hi = std::log(4.0 / 3);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * draw_real(gen, 0.08, 1.0), ratio = std::exp(draw_real(gen, lo, hi));
      const int64_t w = std::lround(std::sqrt(target * ratio)), h = std::lround(std::sqrt(target / ratio));
      if (w > 0 && h > 0 && w <= width && h <= height) {
        const int64_t top = draw_int(gen, height - h + 1);
        return {top, draw_int(gen, width - w + 1), h, w};
      }
    }
    int64_t h = height, w = width;
    const double in_ratio = static_cast<double>(width) / height;
    if (in_ratio < 3.0 / 4) h = std::max<int64_t>(1, std::lround(w / (3.0 / 4)));
    if (in_ratio > 4.0 / 3) w = std::max<int64_t>(1, std::lround(h * (4.0 / 3)));
    h = std::min(h, height);
    return {(height - h) / 2, (width - w) / 2, h, w};
  }

  fs::path folder_;
  std::vector<std::string> classes_;
  std::vector<std::pair<std::string, int64_t>> samples_;  // (file, class)
  int64_t size_ = 224;
  bool augment_;
};

}  // namespace

Example Dataset::example(int64_t i, at::Generator& gen) const {
  return {image(i, gen), torch::scalar_tensor(label(i), torch::kLong)};
}

std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options) {
  const std::string& name = options.name;
  if (name == "fashion_mnist" || name == "mnist") return open_idx(options, name == "fashion_mnist");
  if (name == "cifar10" || name == "cifar100") return open_cifar(options, name == "cifar100");
  if (name == "image_folder" || name == "imagenet") return std::make_unique<ImageFolderDataset>(options);
  throw std::runtime_error("unknown dataset '" + name +
                           "'; known: fashion_mnist, mnist, cifar10, cifar100, image_folder, imagenet");
}

namespace {

class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices, std::string what)
      : base_(std::move(base)),
        at_(std::move(indices), base_->size(), base_->description()),
        what_(std::move(what)) {}
  int64_t size() const override { return at_.size(); }
  torch::Tensor image(int64_t i, at::Generator& gen) const override { return base_->image(at_(i), gen); }
  int64_t label(int64_t i) const override { return base_->label(at_(i)); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<int64_t> image_shape() const override { return base_->image_shape(); }
  std::string description() const override {
    return what_ + " (" + std::to_string(size()) + " images of " + base_->description() + ")";
  }

 private:
  std::shared_ptr<const Dataset> base_;
  SubsetIndices at_;
  std::string what_;
};

}  // namespace

std::unique_ptr<Dataset> subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices,
                                const std::string& what) {
  return std::make_unique<SubsetDataset>(std::move(base), std::move(indices), what);
}

}  // namespace nncf_sample
