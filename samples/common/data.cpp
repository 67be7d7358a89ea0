#include "common/data.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>

namespace nncf_sample {

// Seeds are chains of mix_seed: mix(mix(seed, 0), epoch) orders an epoch, mix(mix(mix(seed, 1), epoch),
// index) augments one example, mix(mix(seed, 2), 0) draws a validation split -- distinct streams.
uint64_t mix_seed(uint64_t h, uint64_t v) {
  uint64_t z = h ^ (v * 0xbf58476d1ce4e5b9ULL + 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

TrainValSplit train_val_split(int64_t size, int64_t val_size, uint64_t seed) {
  if (val_size < 0 || val_size >= size)
    throw std::runtime_error("validation split: " + std::to_string(val_size) + " samples out of " +
                             std::to_string(size) + " leaves nothing to train on (needs 0 <= size < " +
                             std::to_string(size) + ")");
  // A permutation from the split's own stream: the held-out samples spread over the whole file (and
  // its classes) rather than being its tail, and they do not depend on the run's seed.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(mix_seed(seed, 2), 0));
  const torch::Tensor perm = torch::randperm(size, gen, torch::kLong);
  const int64_t* p = perm.data_ptr<int64_t>();
  TrainValSplit split;
  split.val.assign(p, p + val_size);
  split.train.assign(p + val_size, p + size);
  std::sort(split.val.begin(), split.val.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

SubsetIndices::SubsetIndices(std::vector<int64_t> indices, int64_t base_size,
                             const std::string& base_description)
    : indices_(std::move(indices)) {
  for (int64_t i : indices_)
    if (i < 0 || i >= base_size)
      throw std::runtime_error("subset of " + base_description + ": index " + std::to_string(i) +
                               " out of range");
}

int64_t SubsetIndices::operator()(int64_t i) const {
  if (i < 0 || i >= size())
    throw std::runtime_error("sample index " + std::to_string(i) + " out of range [0, " +
                             std::to_string(size()) + ")");
  return indices_[static_cast<size_t>(i)];
}

namespace {

class Subset : public ExampleSet {
 public:
  Subset(std::shared_ptr<const ExampleSet> base, std::vector<int64_t> indices, std::string what)
      : base_(std::move(base)),
        at_(std::move(indices), base_->size(), base_->description()),
        what_(std::move(what)) {}
  int64_t size() const override { return at_.size(); }
  Example example(int64_t i, at::Generator& gen) const override { return base_->example(at_(i), gen); }
  std::vector<int64_t> input_shape() const override { return base_->input_shape(); }
  std::string description() const override {
    return what_ + " (" + std::to_string(size()) + " of " + base_->description() + ")";
  }

 private:
  std::shared_ptr<const ExampleSet> base_;
  SubsetIndices at_;
  std::string what_;
};

}  // namespace

std::unique_ptr<ExampleSet> example_subset(std::shared_ptr<const ExampleSet> base,
                                           std::vector<int64_t> indices, const std::string& what) {
  return std::make_unique<Subset>(std::move(base), std::move(indices), what);
}

torch::Tensor stack_targets(const std::vector<torch::Tensor>& targets) {
  if (targets.empty()) return torch::empty({0}, torch::kLong);
  bool same = true;
  int64_t longest = 0;
  for (const torch::Tensor& t : targets) {
    same = same && t.sizes() == targets[0].sizes();
    if (t.dim() > 0) longest = std::max(longest, t.size(0));
  }
  if (same) return torch::stack(targets);
  std::vector<torch::Tensor> padded;
  padded.reserve(targets.size());
  for (const torch::Tensor& t : targets) {
    if (t.dim() == 0 || t.dim() != targets[0].dim() || t.sizes().slice(1) != targets[0].sizes().slice(1))
      throw std::runtime_error(c10::str("targets of shapes ", targets[0].sizes(), " and ", t.sizes(),
                                        " cannot be stacked (only the first dimension may differ)"));
    std::vector<int64_t> shape = t.sizes().vec();
    shape[0] = longest;
    torch::Tensor p = torch::full(shape, -1, t.options());
    p.narrow(0, 0, t.size(0)).copy_(t);
    padded.push_back(p);
  }
  return torch::stack(padded);
}

Loader::Loader(const ExampleSet& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last)
    : dataset_(dataset), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), seed_(seed) {
  if (batch_size <= 0)
    throw std::runtime_error("Loader: batch_size must be > 0, got " + std::to_string(batch_size));
  set_epoch(0);
}

void Loader::set_epoch(int64_t epoch) {
  epoch_ = epoch;
  const int64_t n = dataset_.size();
  order_.resize(n);
  if (!shuffle_) {
    std::iota(order_.begin(), order_.end(), int64_t{0});
    return;
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(mix_seed(seed_, 0), epoch));
  torch::Tensor perm = torch::randperm(n, gen, torch::kLong);
  std::copy(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n, order_.begin());
}

std::string Loader::order_hash(int64_t batches) const {
  const int64_t n = batches > 0
                        ? std::min<int64_t>(static_cast<int64_t>(order_.size()), batches * batch_size_)
                        : static_cast<int64_t>(order_.size());
  uint64_t h = mix_seed(mix_seed(seed_, 3), epoch_);
  for (int64_t i = 0; i < n; ++i) h = mix_seed(h, static_cast<uint64_t>(order_[i]));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int64_t Loader::num_batches() const {
  const int64_t n = static_cast<int64_t>(order_.size());
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

std::pair<torch::Tensor, torch::Tensor> Loader::batch(int64_t b) const {
  TORCH_CHECK(b >= 0 && b < num_batches(), "batch ", b, " out of range [0, ", num_batches(), ")");
  const int64_t start = b * batch_size_;
  const int64_t count = std::min<int64_t>(batch_size_, static_cast<int64_t>(order_.size()) - start);
  std::vector<torch::Tensor> inputs(count), targets(count);
  // Examples are independent (each has its own generator), so the split across threads cannot
  // change the result. Grain: 16 Fashion-MNIST images take ~60 us, enough to be worth a thread.
  constexpr int64_t kGrain = 16;
  at::parallel_for(0, count, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t index = order_[start + k];
      at::Generator gen =
          at::make_generator<at::CPUGeneratorImpl>(mix_seed(mix_seed(mix_seed(seed_, 1), epoch_), index));
      Example e = dataset_.example(index, gen);
      inputs[k] = std::move(e.input);
      targets[k] = std::move(e.target);
    }
  });
  return {torch::stack(inputs), stack_targets(targets)};
}

}  // namespace nncf_sample
