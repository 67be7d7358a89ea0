#include "traits.h"

namespace nncf::quantization::detail {

using ir::Metatype;
using ir::Node;

Trait default_trait(Metatype m) {
  switch (m) {
    case Metatype::Conv:
    case Metatype::ConvTranspose:
    case Metatype::Linear:
    case Metatype::MatMul:
    case Metatype::ReLU6:
    case Metatype::HardSwish:
    case Metatype::HardSigmoid:
    case Metatype::Tanh:
    case Metatype::ELU:
    case Metatype::PReLU:
    case Metatype::LeakyReLU:
    case Metatype::LayerNorm:
    case Metatype::GELU:
    case Metatype::Add:
    case Metatype::Mul:
    case Metatype::Div:
    case Metatype::Mean:
    case Metatype::BatchNorm:
    case Metatype::AvgPool:
    case Metatype::AdaptiveAvgPool:
      return Trait::InputsQuantizable;
    case Metatype::ReLU:
    case Metatype::SiLU:
    case Metatype::Sub:
    case Metatype::MaxPool:
    case Metatype::AdaptiveMaxPool:
    case Metatype::Reshape:
    case Metatype::Split:
    case Metatype::Slice:
    case Metatype::Pad:
    case Metatype::Interpolate:
    case Metatype::Dropout:
      return Trait::Agnostic;
    case Metatype::Cat:
      return Trait::Concat;
    case Metatype::Size:
    case Metatype::Construct:
    case Metatype::Unpack:
    case Metatype::ModeSelect:
    case Metatype::Compression:
      return Trait::Structural;
    default:  // sigmoid, softmax, embedding, norms without a HW entry, unknown ops
      return Trait::NonQuantizable;
  }
}

std::string hw_type(const Node& n, const TensorShapes& shapes) {
  switch (n.metatype()) {
    case Metatype::Conv: {
      // Depthwise: groups > 1 and one input channel per group.
      if (n.inputs().size() > 6 && n.input(6).is_constant() &&
          n.input(6).constant().kind() == ir::Constant::Kind::Int && n.input(6).constant().to_int() > 1 &&
          n.input(1).is_value()) {
        auto it = shapes.find(n.input(1).value()->name());
        if (it != shapes.end() && it->second.size() > 1 && it->second[1] == 1) return "DepthWiseConvolution";
      }
      return "Convolution";
    }
    case Metatype::ConvTranspose:
      return "ConvolutionBackpropData";
    case Metatype::Linear:
    case Metatype::MatMul:
      return "MatMul";
    case Metatype::Add:
      return "Add";
    case Metatype::Sub:
      return "Subtract";
    case Metatype::Mul:
      return "Multiply";
    case Metatype::Div:
      return "Divide";
    case Metatype::AvgPool:
    case Metatype::AdaptiveAvgPool:
      return "AvgPool";
    case Metatype::MaxPool:
    case Metatype::AdaptiveMaxPool:
      return "MaxPool";
    case Metatype::Mean:
      return "ReduceMean";
    case Metatype::Reshape:
      return "Reshape";
    case Metatype::Cat:
      return "Concat";
    case Metatype::Interpolate:
      return "Interpolate";
    case Metatype::Pad:
      return "Pad";
    case Metatype::Split:
      return "Split";
    case Metatype::Slice:
      return "StridedSlice";
    case Metatype::Embedding:
      return "Embedding";
    default:
      return "";
  }
}

Trait trait_of(const Node& n, const HardwareConfig* hw, const TensorShapes& shapes,
               const HwOperation** hw_op) {
  if (hw_op) *hw_op = nullptr;
  const Trait fallback = default_trait(n.metatype());
  if (hw == nullptr || fallback == Trait::Structural) return fallback;
  const std::string type = hw_type(n, shapes);
  if (type.empty()) return fallback;
  const HwOperation* op = hw->find(type);
  if (op == nullptr) return Trait::NonQuantizable;  // the target runs it in floating point
  if (hw_op) *hw_op = op;
  if (!op->activations.empty()) return Trait::InputsQuantizable;
  if (fallback == Trait::Concat || fallback == Trait::NonQuantizable) return fallback;
  return Trait::Agnostic;
}

}  // namespace nncf::quantization::detail
