#include "nncf/algorithms/weights.h"

#include "nncf/ir/metatype.h"

namespace nncf {

const ir::Value* weight_of(const ir::Node& n, const std::map<std::string, std::vector<int64_t>>& shapes) {
  auto param_at = [&](size_t port) -> const ir::Value* {
    if (port >= n.inputs().size() || !n.input(port).is_value()) return nullptr;
    const ir::Value* v = n.input(port).value();
    return v->is_graph_input() && v->role() == ir::InputRole::Parameter ? v : nullptr;
  };
  switch (n.metatype()) {
    case ir::Metatype::Conv:
    case ir::Metatype::ConvTranspose:
    case ir::Metatype::Linear:
      return param_at(1);
    case ir::Metatype::Embedding:
      return param_at(0);
    case ir::Metatype::MatMul:
      for (size_t i = 0; i < n.inputs().size(); ++i) {
        const ir::Value* v = param_at(i);
        if (v == nullptr) continue;
        auto it = shapes.find(v->name());
        if (it != shapes.end() && it->second.size() >= 2) return v;
      }
      return nullptr;
    default:
      return nullptr;
  }
}

int64_t output_channel_axis(const ir::Node& n, int64_t rank) {
  if (n.metatype() == ir::Metatype::ConvTranspose) return 1;
  if (n.metatype() == ir::Metatype::MatMul) return rank - 1;
  return 0;
}

}  // namespace nncf
