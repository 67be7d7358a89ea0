// Checkpoints record the shape of every tensor they save. A model whose structure changed (conv1
// pruned to 2 of its 4 filters) restores only into a model rebuilt with the saved shapes; restoring
// onto the full-size model fails naming each tensor with both shapes. Checkpoints written before
// shapes were recorded still load.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <optional>
#include <string>

#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Tensors = std::map<std::string, at::Tensor>;
using Shapes = std::map<std::string, std::vector<int64_t>>;

const char* kConfig = R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "compression": []})";

Tensors model_tensors(const runtime::CompressedModel& model) {
  Tensors out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value();
  for (const auto& b : model->named_buffers()) out[b.key()] = b.value();
  return out;
}

Shapes shapes_of(const Tensors& tensors) {
  Shapes out;
  for (const auto& [name, t] : tensors) out[name] = t.sizes().vec();
  return out;
}

// `model` with conv1's filters {0, 2} kept (SmallCNN width 4: conv1 1->4 without bias, bn1, conv2 4->8).
runtime::CompressedModel pruned(const runtime::CompressedModel& model) {
  const at::Tensor keep = torch::tensor({0, 2});
  Tensors sliced;
  for (const char* name : {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}) {
    sliced[name] = model->tensor(name).index_select(0, keep);
  }
  sliced["conv2.weight"] = model->tensor("conv2.weight").index_select(1, keep);
  return model->rewritten(model->graph().clone(), sliced);
}

// `model` shrunk to `shapes` (each tensor narrowed to the saved size of each dimension), as a
// caller restoring a pruned checkpoint does before restore_model.
runtime::CompressedModel shrunk_to(const runtime::CompressedModel& model, const Shapes& shapes) {
  Tensors replaced;
  for (const auto& [name, t] : model_tensors(model)) {
    auto it = shapes.find(name);
    if (it == shapes.end() || t.sizes().equals(it->second)) continue;
    at::Tensor s = t;
    for (size_t d = 0; d < it->second.size(); ++d) s = s.narrow(d, 0, it->second[d]);
    replaced[name] = s.contiguous();
  }
  return model->rewritten(model->graph().clone(), replaced);
}

// A checkpoint as written before shapes were recorded (format version 1, no `tensor_shapes`), or
// with the given (wrong) record.
void write_checkpoint(const std::string& path, const runtime::CompressedModel& model,
                      const std::optional<Shapes>& record = std::nullopt) {
  torch::serialize::OutputArchive archive;
  archive.write("format", std::string("nncf-cpp checkpoint"));
  archive.write("version", int64_t{1});
  archive.write("config", Config::from_string(kConfig).root().dump());
  archive.write("algorithms", std::string());
  archive.write("state_keys", std::string());
  std::vector<std::string> names;
  c10::impl::GenericList shapes(c10::ListType::create(c10::ListType::ofInts()));
  for (const auto& [name, t] : model_tensors(model)) {
    archive.write(c10::str("tensor_", names.size()), t.detach(), /*is_buffer=*/true);
    names.push_back(name);
    if (record) shapes.push_back(c10::List<int64_t>(record->at(name)));
  }
  archive.write("tensor_names", c10::Join("\n", names));
  if (record) archive.write("tensor_shapes", shapes);
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
  archive.save_to(path);
}

class CheckpointShapes : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    path_ = ::testing::TempDir() + "/nncf_checkpoint_shapes.nncf";
    net_ = testing::SmallCNN(testing::SmallCNNOptions().width(4));
  }
  void TearDown() override { std::remove(path_.c_str()); }

  CompressionResult fresh() {
    testing::SmallCNN net(testing::SmallCNNOptions().width(4));  // other random weights
    return create_compressed_model(net, Config::from_string(kConfig));
  }

  std::string path_;
  testing::SmallCNN net_{nullptr};
};

TEST_F(CheckpointShapes, RecordsTheShapeOfEverySavedTensor) {
  const Config config = Config::from_string(kConfig);
  CompressionResult r = create_compressed_model(net_, config);
  CompressionResult small{r.ctrl, pruned(r.model)};
  save_checkpoint(path_, small, config);
  const Checkpoint ckpt = Checkpoint::load(path_);
  const Shapes expected = shapes_of(model_tensors(small.model));
  EXPECT_EQ(ckpt.tensor_shapes(), expected);
  EXPECT_EQ(ckpt.tensor_shapes().at("conv1.weight"), (std::vector<int64_t>{2, 1, 3, 3}));
  EXPECT_EQ(ckpt.tensor_shapes().at("bn1.running_var"), (std::vector<int64_t>{2}));
  EXPECT_EQ(ckpt.tensor_shapes().at("conv2.weight"), (std::vector<int64_t>{8, 2, 3, 3}));
  EXPECT_EQ(ckpt.tensor_shapes().at("bn1.num_batches_tracked"), (std::vector<int64_t>{}));
}

TEST_F(CheckpointShapes, AFullSizeModelFailsNamingEachTensorAndBothShapes) {
  const Config config = Config::from_string(kConfig);
  CompressionResult r = create_compressed_model(net_, config);
  save_checkpoint(path_, CompressionResult{r.ctrl, pruned(r.model)}, config);
  const Checkpoint ckpt = Checkpoint::load(path_);
  CompressionResult target = fresh();
  const at::Tensor before = target.model->tensor("fc.weight").clone();
  const std::string msg = testing::error_of([&] { ckpt.restore_model(target.model); });
  EXPECT_THAT(msg, AllOf(HasSubstr("shapes differ"),
                         HasSubstr("conv1.weight (saved [2, 1, 3, 3], model [4, 1, 3, 3])"),
                         HasSubstr("bn1.running_mean (saved [2], model [4])"),
                         HasSubstr("conv2.weight (saved [8, 2, 3, 3], model [8, 4, 3, 3])"),
                         HasSubstr("Checkpoint::tensor_shapes()")));
  EXPECT_TRUE(torch::equal(target.model->tensor("fc.weight"), before)) << "nothing is copied on a mismatch";
  // Resuming through create_compressed_model rebuilds the full-size model and fails alike.
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  EXPECT_THAT(testing::error_of([&] { create_compressed_model(net, config, ckpt); }),
              HasSubstr("conv1.weight (saved [2, 1, 3, 3], model [4, 1, 3, 3])"));
}

TEST_F(CheckpointShapes, AModelRebuiltWithTheSavedShapesRestoresExactly) {
  const Config config = Config::from_string(kConfig);
  CompressionResult r = create_compressed_model(net_, config);
  runtime::CompressedModel small = pruned(r.model);
  small->forward(torch::randn({4, 1, 12, 12}));  // running stats away from their initial values
  save_checkpoint(path_, CompressionResult{r.ctrl, small}, config);
  const Checkpoint ckpt = Checkpoint::load(path_);

  runtime::CompressedModel rebuilt = shrunk_to(fresh().model, ckpt.tensor_shapes());
  ckpt.restore_model(rebuilt);
  for (const auto& [name, t] : model_tensors(small)) {
    EXPECT_TRUE(torch::equal(rebuilt->tensor(name), t)) << name;
  }
  small->eval();
  rebuilt->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 1, 12, 12});
  EXPECT_TRUE(torch::equal(rebuilt->forward(x), small->forward(x)));
}

TEST_F(CheckpointShapes, ACheckpointWithoutRecordedShapesLoadsAsBefore) {
  runtime::CompressedModel model = fresh().model;
  write_checkpoint(path_, model);
  const Checkpoint ckpt = Checkpoint::load(path_);
  EXPECT_EQ(ckpt.tensor_shapes(), shapes_of(model_tensors(model))) << "the saved tensors' shapes";
  runtime::CompressedModel other = fresh().model;
  ckpt.restore_model(other);
  EXPECT_TRUE(torch::equal(other->tensor("conv1.weight"), model->tensor("conv1.weight")));
  runtime::CompressedModel small = pruned(other);
  EXPECT_THAT(testing::error_of([&] { ckpt.restore_model(small); }),
              HasSubstr("conv1.weight (saved [4, 1, 3, 3], model [2, 1, 3, 3])"));
}

TEST_F(CheckpointShapes, ARecordThatDisagreesWithItsTensorIsACorruptFile) {
  runtime::CompressedModel model = fresh().model;
  Shapes record = shapes_of(model_tensors(model));
  record["conv2.weight"] = {8, 3, 3, 3};
  write_checkpoint(path_, model, record);
  EXPECT_THAT(testing::error_of([&] { Checkpoint::load(path_); }),
              AllOf(HasSubstr("is corrupt"),
                    HasSubstr("'conv2.weight' was recorded with shape [8, 3, 3, 3] but holds [8, 4, 3, 3]")));
}

}  // namespace
}  // namespace nncf
