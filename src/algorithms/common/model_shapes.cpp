#include "nncf/algorithms/model_shapes.h"

namespace nncf {

passes::InputShapes model_input_shapes(const runtime::CompressedModel& model,
                                       const std::vector<c10::IValue>& example_inputs) {
  passes::InputShapes shapes;
  size_t next_input = 0;
  for (const ir::Value* v : model->graph().inputs()) {
    if (v->role() == ir::InputRole::Parameter || v->role() == ir::InputRole::Buffer) {
      const at::Tensor t = model->tensor(v->name());
      shapes.tensors[v->name()] = {t.sizes().vec(), t.scalar_type()};
    } else if (v->role() == ir::InputRole::Data && next_input < example_inputs.size()) {
      const c10::IValue& x = example_inputs[next_input++];
      if (x.isTensor()) shapes.tensors[v->name()] = {x.toTensor().sizes().vec(), x.toTensor().scalar_type()};
    }
  }
  return shapes;
}

}  // namespace nncf
