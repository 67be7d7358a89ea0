#pragma once

// Metatypes: the operator families every analysis reasons about. A node's metatype is derived
// from its operator name by one table (metatype.cpp), so it never disagrees with the op.

#include <string_view>

namespace nncf::ir {

enum class Metatype {
  Unknown,
  // ops with weights
  Conv,           ///< conv1d/2d/3d, convolution
  ConvTranspose,  ///< conv_transpose1d/2d/3d
  Linear,         ///< linear
  MatMul,         ///< matmul, mm, bmm, addmm, baddbmm
  Embedding,
  // normalization
  BatchNorm,
  GroupNorm,
  LayerNorm,
  InstanceNorm,
  // activations
  ReLU,
  ReLU6,  ///< relu6, and hardtanh (relu6 is hardtanh(0, 6) once traced)
  LeakyReLU,
  PReLU,
  ELU,
  GELU,
  SiLU,
  Sigmoid,
  Tanh,
  HardSigmoid,
  HardSwish,
  Softmax,
  // elementwise arithmetic
  Add,
  Sub,
  Mul,
  Div,
  // pooling and reductions
  MaxPool,
  AvgPool,
  AdaptiveAvgPool,
  AdaptiveMaxPool,
  Mean,
  Sum,
  // data movement
  Cat,
  Reshape,  ///< view, reshape, flatten, squeeze, unsqueeze, permute, transpose, contiguous, ...
  Split,    ///< split, chunk, unbind
  Slice,    ///< slice, select, narrow, index
  Pad,
  Interpolate,
  Dropout,
  // scalar and structural ops
  Size,       ///< aten::size, aten::Int, numeric helpers
  Construct,  ///< prim::ListConstruct, prim::TupleConstruct
  Unpack,     ///< prim::ListUnpack, prim::TupleUnpack, prim::TupleIndex
  ModeSelect,  ///< prim::ModeSelect(training, train_value, eval_value): see Node::runs_in
  // inserted by nncf
  Compression,  ///< nncf:: operators (fake quantize, masks, ...)
};

/// The metatype of an operator, by its qualified name without overload ("aten::relu").
/// In-place variants ("aten::relu_") map like their out-of-place forms.
Metatype metatype_of(std::string_view op);

/// Stable lower-case name: "conv", "batch_norm", "relu", ...
const char* to_string(Metatype m);

/// True for ops that take weights: Conv, ConvTranspose, Linear, MatMul, Embedding.
bool has_weights(Metatype m);

/// True for the activations that map each element of one tensor on its own: ReLU, ReLU6,
/// LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, HardSigmoid, HardSwish. Their output has the shape,
/// dtype and channels of their input, and reads no other tensor. Not PReLU (it reads a weight,
/// one slope per channel) nor Softmax (each output depends on a whole dimension). Passes that
/// treat those two, or Dropout, like these say so where they call this.
bool is_elementwise_activation(Metatype m);

}  // namespace nncf::ir
