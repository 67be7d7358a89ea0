#pragma once

// What an exported ONNX file actually stores for the weights of its convolutions and linear
// layers: the compression rate of the file, beside the nominal one (bit width, nonzero fraction).
//
// A weight is input 1 of Conv, ConvTranspose, Gemm, MatMul, ConvInteger or MatMulInteger (input 3
// of QLinearConv / QLinearMatMul), followed back through DequantizeLinear, QuantizeLinear,
// Identity, Cast, Reshape and Transpose to an initializer or a Constant; an input that leads to
// anything else (an activation) is not a weight. Each such tensor counts once, at the element size
// of its data type (FLOAT 4 bytes, INT8 1, INT4 half a byte, ...): an FP32 initializer followed by
// QuantizeLinear/DequantizeLinear stores 4 bytes per weight, and zeros stored densely save
// nothing. The FP32 reference is 4 bytes per element of the same tensors.

#include <cstdint>
#include <string>

namespace nncf_sample {

struct OnnxWeightBytes {
  int64_t tensors = 0;      ///< weight tensors found
  double fp32_bytes = 0;    ///< 4 bytes per element
  double stored_bytes = 0;  ///< as the file stores them
  /// fp32_bytes / stored_bytes; 1 when there is no weight.
  double rate() const { return stored_bytes > 0 ? fp32_bytes / stored_bytes : 1; }
};

/// Reads the ONNX file at `path` (a ModelProto; only the fields named above are decoded); throws
/// std::runtime_error naming the file when it cannot be read or is not valid protobuf.
OnnxWeightBytes onnx_weight_bytes(const std::string& path);
/// The same on a serialized ModelProto (tests); `source` names it in errors.
OnnxWeightBytes onnx_weight_bytes_of(const std::string& model_bytes, const std::string& source);

}  // namespace nncf_sample
