#include "nncf/ir/metatype.h"

#include <string>
#include <unordered_map>

namespace nncf::ir {

namespace {

using M = Metatype;

// Exact operator names. In-place variants are folded onto these before lookup.
const std::unordered_map<std::string_view, Metatype>& exact_table() {
  static const std::unordered_map<std::string_view, Metatype> table = {
      {"aten::conv1d", M::Conv},
      {"aten::conv2d", M::Conv},
      {"aten::conv3d", M::Conv},
      {"aten::_convolution", M::Conv},
      {"aten::convolution", M::Conv},
      {"aten::conv_transpose1d", M::ConvTranspose},
      {"aten::conv_transpose2d", M::ConvTranspose},
      {"aten::conv_transpose3d", M::ConvTranspose},
      {"aten::linear", M::Linear},
      {"aten::matmul", M::MatMul},
      {"aten::mm", M::MatMul},
      {"aten::bmm", M::MatMul},
      {"aten::addmm", M::MatMul},
      {"aten::baddbmm", M::MatMul},
      {"aten::embedding", M::Embedding},
      {"aten::batch_norm", M::BatchNorm},
      {"aten::group_norm", M::GroupNorm},
      {"aten::layer_norm", M::LayerNorm},
      {"aten::instance_norm", M::InstanceNorm},
      {"aten::relu", M::ReLU},
      {"aten::relu6", M::ReLU6},
      {"aten::hardtanh", M::ReLU6},
      {"aten::leaky_relu", M::LeakyReLU},
      {"aten::prelu", M::PReLU},
      {"aten::elu", M::ELU},
      {"aten::selu", M::ELU},
      {"aten::celu", M::ELU},
      {"aten::gelu", M::GELU},
      {"aten::silu", M::SiLU},
      {"aten::sigmoid", M::Sigmoid},
      {"aten::tanh", M::Tanh},
      {"aten::hardsigmoid", M::HardSigmoid},
      {"aten::hardswish", M::HardSwish},
      {"aten::softmax", M::Softmax},
      {"aten::log_softmax", M::Softmax},
      {"aten::add", M::Add},
      {"aten::sub", M::Sub},
      {"aten::rsub", M::Sub},
      {"aten::mul", M::Mul},
      {"aten::div", M::Div},
      {"aten::mean", M::Mean},
      {"aten::sum", M::Sum},
      {"aten::cat", M::Cat},
      {"aten::concat", M::Cat},
      {"aten::stack", M::Cat},
      {"aten::view", M::Reshape},
      {"aten::reshape", M::Reshape},
      {"aten::flatten", M::Reshape},
      {"aten::squeeze", M::Reshape},
      {"aten::unsqueeze", M::Reshape},
      {"aten::permute", M::Reshape},
      {"aten::transpose", M::Reshape},
      {"aten::t", M::Reshape},
      {"aten::contiguous", M::Reshape},
      {"aten::expand", M::Reshape},
      {"aten::expand_as", M::Reshape},
      {"aten::view_as", M::Reshape},
      {"aten::reshape_as", M::Reshape},
      {"aten::unflatten", M::Reshape},
      {"aten::split", M::Split},
      {"aten::chunk", M::Split},
      {"aten::unbind", M::Split},
      {"aten::split_with_sizes", M::Split},
      {"aten::slice", M::Slice},
      {"aten::select", M::Slice},
      {"aten::narrow", M::Slice},
      {"aten::index", M::Slice},
      {"aten::index_select", M::Slice},
      {"aten::pad", M::Pad},
      {"aten::constant_pad_nd", M::Pad},
      {"aten::interpolate", M::Interpolate},
      {"aten::dropout", M::Dropout},
      {"aten::feature_dropout", M::Dropout},
      {"aten::alpha_dropout", M::Dropout},
      {"aten::feature_alpha_dropout", M::Dropout},
      {"aten::size", M::Size},
      {"aten::Int", M::Size},
      {"aten::Float", M::Size},
      {"aten::ScalarImplicit", M::Size},
      {"aten::numel", M::Size},
      {"aten::dim", M::Size},
      {"prim::ListConstruct", M::Construct},
      {"prim::TupleConstruct", M::Construct},
      {"prim::ListUnpack", M::Unpack},
      {"prim::TupleUnpack", M::Unpack},
      {"prim::TupleIndex", M::Unpack},
      {"prim::ModeSelect", M::ModeSelect},
  };
  return table;
}

// Families named by prefix: every dimension and variant of these maps alike.
struct Prefix {
  std::string_view prefix;
  Metatype metatype;
};
constexpr Prefix kPrefixes[] = {
    {"aten::max_pool", M::MaxPool},  // max_pool1d/2d/3d, max_pool2d_with_indices
    {"aten::avg_pool", M::AvgPool},
    {"aten::adaptive_avg_pool", M::AdaptiveAvgPool},
    {"aten::adaptive_max_pool", M::AdaptiveMaxPool},
    {"aten::reflection_pad", M::Pad},
    {"aten::replication_pad", M::Pad},
    {"aten::upsample_", M::Interpolate},
    {"nncf::", M::Compression},
};

}  // namespace

Metatype metatype_of(std::string_view op) {
  // In-place variants (`relu_`) map like their out-of-place forms; dunder names (`__and__`) are
  // not in-place variants.
  if (op.size() > 1 && op.back() == '_' && op[op.size() - 2] != '_') op.remove_suffix(1);
  const auto& table = exact_table();
  if (auto it = table.find(op); it != table.end()) return it->second;
  for (const Prefix& p : kPrefixes) {
    if (op.substr(0, p.prefix.size()) == p.prefix) return p.metatype;
  }
  return M::Unknown;
}

const char* to_string(Metatype m) {
  switch (m) {
    case M::Unknown:
      return "unknown";
    case M::Conv:
      return "conv";
    case M::ConvTranspose:
      return "conv_transpose";
    case M::Linear:
      return "linear";
    case M::MatMul:
      return "matmul";
    case M::Embedding:
      return "embedding";
    case M::BatchNorm:
      return "batch_norm";
    case M::GroupNorm:
      return "group_norm";
    case M::LayerNorm:
      return "layer_norm";
    case M::InstanceNorm:
      return "instance_norm";
    case M::ReLU:
      return "relu";
    case M::ReLU6:
      return "relu6";
    case M::LeakyReLU:
      return "leaky_relu";
    case M::PReLU:
      return "prelu";
    case M::ELU:
      return "elu";
    case M::GELU:
      return "gelu";
    case M::SiLU:
      return "silu";
    case M::Sigmoid:
      return "sigmoid";
    case M::Tanh:
      return "tanh";
    case M::HardSigmoid:
      return "hard_sigmoid";
    case M::HardSwish:
      return "hard_swish";
    case M::Softmax:
      return "softmax";
    case M::Add:
      return "add";
    case M::Sub:
      return "sub";
    case M::Mul:
      return "mul";
    case M::Div:
      return "div";
    case M::MaxPool:
      return "max_pool";
    case M::AvgPool:
      return "avg_pool";
    case M::AdaptiveAvgPool:
      return "adaptive_avg_pool";
    case M::AdaptiveMaxPool:
      return "adaptive_max_pool";
    case M::Mean:
      return "mean";
    case M::Sum:
      return "sum";
    case M::Cat:
      return "cat";
    case M::Reshape:
      return "reshape";
    case M::Split:
      return "split";
    case M::Slice:
      return "slice";
    case M::Pad:
      return "pad";
    case M::Interpolate:
      return "interpolate";
    case M::Dropout:
      return "dropout";
    case M::Size:
      return "size";
    case M::Construct:
      return "construct";
    case M::Unpack:
      return "unpack";
    case M::ModeSelect:
      return "mode_select";
    case M::Compression:
      return "compression";
  }
  return "unknown";
}

bool has_weights(Metatype m) {
  switch (m) {
    case M::Conv:
    case M::ConvTranspose:
    case M::Linear:
    case M::MatMul:
    case M::Embedding:
      return true;
    default:
      return false;
  }
}

bool is_elementwise_activation(Metatype m) {
  switch (m) {
    case M::ReLU:
    case M::ReLU6:
    case M::LeakyReLU:
    case M::ELU:
    case M::GELU:
    case M::SiLU:
    case M::Sigmoid:
    case M::Tanh:
    case M::HardSigmoid:
    case M::HardSwish:
      return true;
    default:
      return false;
  }
}

}  // namespace nncf::ir
