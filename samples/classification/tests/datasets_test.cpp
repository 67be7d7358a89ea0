#include "datasets.h"

#include "dataset_test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;
using namespace test_util;

uint8_t mnist_pixel(int64_t i, int64_t y, int64_t x) {
  return static_cast<uint8_t>((i * 37 + y * 28 + x) % 256);
}

Bytes idx_images(int64_t n) {
  Bytes b;
  for (uint32_t v : {0x803u, static_cast<uint32_t>(n), 28u, 28u}) put_be32(b, v);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < 28 * 28; ++p) b.push_back(mnist_pixel(i, p / 28, p % 28));
  return b;
}

Bytes idx_labels(int64_t n) {
  Bytes b;
  for (uint32_t v : {0x801u, static_cast<uint32_t>(n)}) put_be32(b, v);
  for (int64_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>((3 * i + 1) % 10));
  return b;
}

void write_idx(const fs::path& dir, const std::string& split, int64_t n, bool gz) {
  const std::string ext = gz ? ".gz" : "";
  write_file(dir / (split + "-images-idx3-ubyte" + ext), idx_images(n), gz);
  write_file(dir / (split + "-labels-idx1-ubyte" + ext), idx_labels(n), gz);
}

TEST(IdxDataset, GzipAndPlainFilesDecodeToNormalizedPixels) {
  const fs::path dir = fresh_dir("idx");
  write_idx(dir, "train", 5, /*gz=*/true);
  write_idx(dir, "t10k", 4, /*gz=*/false);
  for (bool train : {true, false}) {
    auto ds = open_dataset(options("fashion_mnist", dir, train));
    ASSERT_EQ(ds->size(), train ? 5 : 4);
    EXPECT_EQ(ds->num_classes(), 10);
    EXPECT_EQ(ds->image_shape(), (std::vector<int64_t>{1, 28, 28}));
    EXPECT_EQ(ds->description(), train ? "Fashion-MNIST train (5 images)" : "Fashion-MNIST test (4 images)");
    auto gen = generator(0);
    for (int64_t i = 0; i < ds->size(); ++i) {
      EXPECT_EQ(ds->label(i), (3 * i + 1) % 10);
      torch::Tensor img = ds->image(i, gen);
      ASSERT_EQ(img.sizes(), torch::IntArrayRef({1, 28, 28}));
      for (auto [y, x] : {std::pair<int64_t, int64_t>{0, 0}, {5, 17}, {27, 27}})
        EXPECT_NEAR(img[0][y][x].item<float>(), (mnist_pixel(i, y, x) / 255.0 - 0.2860) / 0.3530, 1e-5);
    }
  }
  auto mnist = open_dataset(options("mnist", dir, false));
  auto gen = generator(0);
  EXPECT_NEAR(mnist->image(2, gen)[0][3][4].item<float>(), (mnist_pixel(2, 3, 4) / 255.0 - 0.1307) / 0.3081,
              1e-5);

  DatasetOptions rgb = options("fashion_mnist", dir);
  rgb.channels = 3;
  rgb.limit = 3;
  auto ds3 = open_dataset(rgb);
  EXPECT_EQ(ds3->size(), 3);
  torch::Tensor img = ds3->image(1, gen);
  ASSERT_EQ(img.sizes(), torch::IntArrayRef({3, 28, 28}));
  EXPECT_TRUE(torch::equal(img[0], img[1]) && torch::equal(img[0], img[2]));
}

TEST(IdxDataset, TrainAugmentationIsAZeroPaddedShiftOnlyWhenAsked) {
  const fs::path dir = fresh_dir("idx_aug");
  write_idx(dir, "train", 2, true);
  write_idx(dir, "t10k", 2, true);
  auto plain = open_dataset(options("fashion_mnist", dir, true, false));
  auto aug = open_dataset(options("fashion_mnist", dir, true, true));
  auto eval =
      open_dataset(options("fashion_mnist", dir, false, true));  // augment ignored off the train split
  auto g0 = generator(0), g1 = generator(1);
  const torch::Tensor base = plain->image(1, g0);
  const float zero = static_cast<float>(-0.2860 / 0.3530);
  const torch::Tensor padded = torch::constant_pad_nd(base, {2, 2, 2, 2}, zero);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto gen = generator(seed);
    torch::Tensor img = aug->image(1, gen);
    ASSERT_EQ(img.sizes(), base.sizes());
    bool found = false;
    for (int64_t top = 0; top <= 4 && !found; ++top)
      for (int64_t left = 0; left <= 4 && !found; ++left)
        if (torch::equal(img, padded.slice(1, top, top + 28).slice(2, left, left + 28))) {
          found = true;
          offsets.insert({top, left});
        }
    EXPECT_TRUE(found) << "seed " << seed << ": not a crop of the zero-padded image";
  }
  EXPECT_GT(offsets.size(), 5u);
  auto a = generator(7), b = generator(7);
  EXPECT_TRUE(torch::equal(aug->image(0, a), aug->image(0, b)));  // same generator state, same image
  auto e0 = generator(0), e1 = generator(1);
  EXPECT_TRUE(torch::equal(eval->image(1, e0), eval->image(1, e1)));
  EXPECT_TRUE(torch::equal(plain->image(1, g1), base));
}

Bytes cifar_record(int label_bytes, int64_t label, int64_t seed) {
  Bytes r;
  if (label_bytes == 2) r.push_back(static_cast<uint8_t>(label % 20));  // coarse
  r.push_back(static_cast<uint8_t>(label));
  for (int64_t p = 0; p < 3072; ++p) r.push_back(static_cast<uint8_t>((seed * 13 + p * 7) % 256));
  return r;
}

TEST(CifarDataset, RecordsDecodeToChannelPlanesAndFineLabels) {
  const fs::path dir = fresh_dir("cifar");
  for (int k = 1; k <= 5; ++k) {
    Bytes b = cifar_record(1, k, 2 * k);
    Bytes second = cifar_record(1, 9, 2 * k + 1);
    b.insert(b.end(), second.begin(), second.end());
    write_file(dir / ("data_batch_" + std::to_string(k) + ".bin"), b);
  }
  write_file(dir / "test_batch.bin", cifar_record(1, 4, 99));
  auto train = open_dataset(options("cifar10", dir));
  ASSERT_EQ(train->size(), 10);
  EXPECT_EQ(train->label(2), 2);
  EXPECT_EQ(train->label(3), 9);
  auto gen = generator(0);
  torch::Tensor img = train->image(2, gen);  // data_batch_2, first record: seed 4
  ASSERT_EQ(img.sizes(), torch::IntArrayRef({3, 32, 32}));
  const double mean[] = {0.4914, 0.4822, 0.4465}, stdev[] = {0.2470, 0.2435, 0.2616};
  for (int64_t c = 0; c < 3; ++c) {
    const int64_t p = c * 1024 + 5 * 32 + 9;  // channel c, row 5, column 9
    EXPECT_NEAR(img[c][5][9].item<float>(), (((4 * 13 + p * 7) % 256) / 255.0 - mean[c]) / stdev[c], 1e-5);
  }
  EXPECT_EQ(open_dataset(options("cifar10", dir, false))->size(), 1);

  write_file(dir / "c100" / "train.bin", cifar_record(2, 57, 1));
  auto c100 = open_dataset(options("cifar100", dir / "c100"));
  EXPECT_EQ(c100->num_classes(), 100);
  EXPECT_EQ(c100->label(0), 57);

  auto aug = open_dataset(options("cifar10", dir, true, true));
  std::set<std::vector<float>> distinct;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    auto g = generator(seed);
    torch::Tensor a = aug->image(0, g);
    ASSERT_EQ(a.sizes(), torch::IntArrayRef({3, 32, 32}));
    distinct.insert(std::vector<float>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel()));
  }
  EXPECT_GT(distinct.size(), 3u);
}

// image(i) = i everywhere plus one draw from the sample's generator.
class CountingDataset : public Dataset {
 public:
  explicit CountingDataset(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  torch::Tensor image(int64_t i, at::Generator& gen) const override {
    return torch::full({1, 2, 2}, static_cast<float>(i)) + torch::rand({1}, gen);
  }
  int64_t label(int64_t i) const override { return i; }
  int64_t num_classes() const override { return n_; }
  std::vector<int64_t> image_shape() const override { return {1, 2, 2}; }
  std::string description() const override { return "counting"; }

 private:
  int64_t n_;
};

std::vector<int64_t> epoch_order(const Loader& loader) {
  std::vector<int64_t> order;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    torch::Tensor labels = loader.batch(b).second;
    order.insert(order.end(), labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
  }
  return order;
}

TEST(Loader, OrderAndAugmentationDependOnlyOnSeedEpochAndIndex) {
  CountingDataset ds(10);
  Loader a(ds, 4, /*shuffle=*/true, /*seed=*/5), b(ds, 4, true, 5);
  ASSERT_EQ(a.num_batches(), 3);
  auto [images, labels] = a.batch(2);
  EXPECT_EQ(images.sizes(), torch::IntArrayRef({2, 1, 2, 2}));  // the partial last batch is kept
  EXPECT_EQ(labels.dtype(), torch::kLong);
  for (int64_t b2 = 0; b2 < 3; ++b2) EXPECT_TRUE(torch::equal(a.batch(b2).first, b.batch(b2).first));

  std::vector<int64_t> e0 = epoch_order(a);
  std::vector<int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  a.set_epoch(1);
  std::vector<int64_t> e1 = epoch_order(a);
  EXPECT_NE(e0, e1);
  std::sort(e1.begin(), e1.end());
  EXPECT_EQ(e1, sorted);
  a.set_epoch(0);
  EXPECT_EQ(epoch_order(a), e0);

  // A sample's image does not depend on the batch it lands in, but changes with the epoch.
  Loader wide(ds, 10, true, 5);
  torch::Tensor all = wide.batch(0).first;
  int64_t pos = 0;
  for (int64_t b2 = 0; b2 < 3; ++b2) {
    torch::Tensor part = b.batch(b2).first;
    EXPECT_TRUE(torch::equal(part, all.slice(0, pos, pos + part.size(0))));
    pos += part.size(0);
  }
  wide.set_epoch(1);
  torch::Tensor next = wide.batch(0).first;
  EXPECT_FALSE(torch::equal(std::get<0>(next.flatten(1).select(1, 0).sort()),
                            std::get<0>(all.flatten(1).select(1, 0).sort())));

  Loader dropped(ds, 4, false, 5, /*drop_last=*/true);
  EXPECT_EQ(dropped.num_batches(), 2);
  EXPECT_EQ(epoch_order(dropped), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_NE(epoch_order(Loader(ds, 4, true, 6)), e0);
}

TEST(TrainValSplit, DisjointCompleteDeterministicAndIndependentOfTheRunSeed) {
  const TrainValSplit a = train_val_split(1000, 100, 0);
  EXPECT_EQ(a.val.size(), 100u);
  EXPECT_EQ(a.train.size(), 900u);
  std::set<int64_t> all(a.train.begin(), a.train.end());
  for (int64_t i : a.val) EXPECT_TRUE(all.insert(i).second) << i << " is in both parts";
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 999);
  EXPECT_TRUE(std::is_sorted(a.val.begin(), a.val.end()));
  EXPECT_TRUE(std::is_sorted(a.train.begin(), a.train.end()));
  // The same arguments, the same split (a fresh permutation, not global RNG state).
  torch::manual_seed(123);
  const TrainValSplit b = train_val_split(1000, 100, 0);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.train, b.train);
  // Spread over the file, not its tail; another split seed holds out other images.
  EXPECT_LT(a.val.front(), 100);
  EXPECT_GT(a.val.back(), 900);
  EXPECT_NE(train_val_split(1000, 100, 1).val, a.val);
  EXPECT_TRUE(train_val_split(10, 0, 0).val.empty());
  expect_error([] { train_val_split(10, 10, 0); }, {"10 samples out of 10"});
  expect_error([] { train_val_split(10, -1, 0); }, {"validation split"});
}

TEST(TrainValSplit, SubsetsServeTheirIndicesOfTheBase) {
  auto base = std::make_shared<CountingDataset>(10);
  const auto part = subset(base, {7, 2, 9}, "validation");
  ASSERT_EQ(part->size(), 3);
  EXPECT_EQ(part->label(0), 7);
  EXPECT_EQ(part->label(2), 9);
  EXPECT_EQ(part->image_shape(), base->image_shape());
  EXPECT_NE(part->description().find("validation (3 images of counting)"), std::string::npos)
      << part->description();
  Loader loader(*part, 2, /*shuffle=*/false, 0);
  EXPECT_EQ(epoch_order(loader), (std::vector<int64_t>{7, 2, 9}));
  expect_error([&] { subset(base, {10}, "x"); }, {"index 10 out of range"});
}

TEST(DatasetErrors, MissingOrCorruptFilesNameTheFile) {
  const fs::path dir = fresh_dir("errors");
  expect_error([&] { open_dataset(options("fashion_mnist", dir / "absent")); }, {"absent", "no such folder"});
  expect_error([&] { open_dataset(options("no_such_set", dir)); },
               {"no_such_set", "fashion_mnist", "imagenet"});

  write_file(dir / "missing" / "train-images-idx3-ubyte", idx_images(2));
  expect_error([&] { open_dataset(options("mnist", dir / "missing")); },
               {"train-labels-idx1-ubyte", "missing"});

  Bytes bad_magic = idx_images(2);
  bad_magic[3] = 0x01;
  write_idx(dir / "magic", "train", 2, false);
  write_file(dir / "magic" / "train-images-idx3-ubyte", bad_magic);
  expect_error([&] { open_dataset(options("mnist", dir / "magic")); }, {"train-images-idx3-ubyte", "magic"});

  Bytes short_images = idx_images(3);
  short_images.resize(short_images.size() - 100);
  write_idx(dir / "short", "train", 3, false);
  write_file(dir / "short" / "train-images-idx3-ubyte", short_images);
  expect_error([&] { open_dataset(options("mnist", dir / "short")); }, {"train-images-idx3-ubyte", "size"});

  write_idx(dir / "gz", "train", 3, true);
  const fs::path gz = dir / "gz" / "train-images-idx3-ubyte.gz";
  Bytes whole = read_bytes(gz);
  write_file(gz, Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  expect_error([&] { open_dataset(options("mnist", dir / "gz")); }, {"train-images-idx3-ubyte.gz"});

  write_idx(dir / "count", "train", 3, true);
  write_file(dir / "count" / "train-labels-idx1-ubyte.gz", idx_labels(2), true);
  expect_error([&] { open_dataset(options("mnist", dir / "count")); },
               {"train-labels-idx1-ubyte.gz", "2 labels"});

  write_idx(dir / "size", "train", 1, false);
  DatasetOptions resized = options("mnist", dir / "size");
  resized.image_size = 32;
  expect_error([&] { open_dataset(resized); }, {"image_size"});

  for (int k = 1; k <= 5; ++k)
    write_file(dir / "cifar" / ("data_batch_" + std::to_string(k) + ".bin"), cifar_record(1, 1, k));
  Bytes odd = cifar_record(1, 1, 3);
  odd.pop_back();
  write_file(dir / "cifar" / "data_batch_3.bin", odd);
  expect_error([&] { open_dataset(options("cifar10", dir / "cifar")); }, {"data_batch_3.bin", "multiple"});
  expect_error([&] { open_dataset(options("cifar10", dir / "cifar", false)); },
               {"test_batch.bin", "missing"});
  write_file(dir / "cifar" / "test_batch.bin", cifar_record(1, 12, 0));
  expect_error([&] { open_dataset(options("cifar10", dir / "cifar", false)); },
               {"test_batch.bin", "label 12"});
}

TEST(RealFashionMnist, TestSplitOpens) {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fs::path(root) / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << root << " not installed";
  auto ds = open_dataset(options("fashion_mnist", root, false));
  ASSERT_EQ(ds->size(), 10000);
  std::vector<int64_t> per_class(10, 0);
  for (int64_t i = 0; i < ds->size(); ++i) {
    ASSERT_GE(ds->label(i), 0);
    ASSERT_LT(ds->label(i), 10);
    per_class[ds->label(i)]++;
  }
  EXPECT_EQ(per_class, std::vector<int64_t>(10, 1000));
  auto gen = generator(0);
  torch::Tensor img = ds->image(0, gen);
  EXPECT_EQ(img.sizes(), torch::IntArrayRef({1, 28, 28}));
  EXPECT_GE(img.min().item<float>(), -0.2860 / 0.3530 - 1e-5);
  EXPECT_LE(img.max().item<float>(), (1 - 0.2860) / 0.3530 + 1e-5);
  EXPECT_GT(img.max().item<float>(), img.min().item<float>());
}

}  // namespace
}  // namespace nncf_sample
