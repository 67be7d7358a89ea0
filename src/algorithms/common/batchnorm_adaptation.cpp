#include "nncf/algorithms/batchnorm_adaptation.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include "nncf/ir/metatype.h"

namespace nncf {

int64_t batch_size_of(const std::vector<c10::IValue>& inputs) {
  for (const c10::IValue& v : inputs) {
    if (v.isTensor() && v.toTensor().dim() > 0) return v.toTensor().size(0);
  }
  return 1;
}

void run_batchnorm_adaptation(runtime::CompressedModel& model, const InitData& data, int64_t samples) {
  bool has_bn = false;
  for (const ir::Node* n : model->graph().nodes()) has_bn |= n->metatype() == ir::Metatype::BatchNorm;
  if (!has_bn || samples <= 0) return;
  struct Restore {
    runtime::CompressedModel& model;
    bool training;
    ~Restore() {
      model->set_batchnorm_adaptation(false);
      model->train(training);
    }
  } restore{model, model->is_training()};
  torch::NoGradGuard no_grad;
  model->eval();
  model->set_batchnorm_adaptation(true);
  int64_t seen = 0;
  data.for_each([&](std::vector<c10::IValue> inputs) {
    seen += batch_size_of(inputs);
    model->forward(std::move(inputs));
    return seen < samples;
  });
}

}  // namespace nncf
