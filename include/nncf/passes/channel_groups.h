#pragma once

// Channel-dependency groups for filter pruning: which output channels of which layers must be
// removed together, and which nodes consume them.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// A layer whose output channels a group holds: a convolution (groups == 1), a transposed
/// convolution (groups == 1) or a linear layer. Pruning removes rows of its weight (dim 0; dim 1
/// for a transposed convolution) and entries of its bias.
struct ChannelProducer {
  const ir::Node* node = nullptr;
  int64_t channels = 0;  ///< out channels (out features)
};

/// A node that reads a group's channels and must be sliced with it.
///
/// The group's channel `c` is the consumer's input channel `offset + c`; for a linear layer after
/// a flatten, it is the `factor` input columns starting at `(offset + c) * factor`.
struct ChannelConsumer {
  enum class Kind {
    Conv,           ///< input channels of a convolution: weight dim 1
    ConvTranspose,  ///< input channels of a transposed convolution: weight dim 0
    Linear,         ///< input features of a linear layer: weight dim 1, `factor` columns each
    BatchNorm,      ///< weight, bias, running_mean, running_var: dim 0
    Depthwise,      ///< a depthwise convolution passes the channels on: weight and bias dim 0
    Cat,            ///< a channel concatenation: nothing to slice, `offset` is where the group lands
  };
  const ir::Node* node = nullptr;
  Kind kind = Kind::Conv;
  int64_t offset = 0;
  int64_t factor = 1;
};
const char* to_string(ChannelConsumer::Kind kind);

/// Output channels that are pruned together: every producer loses the same channel indices, and
/// every consumer the matching inputs.
struct ChannelGroup {
  std::vector<ChannelProducer> producers;  ///< in graph order
  std::vector<ChannelConsumer> consumers;  ///< in graph order
  int64_t channels = 0;                    ///< of the first producer
  bool prunable = true;
  std::vector<std::string> reasons;  ///< why not, when not prunable (unique, in discovery order)
};

/// Readable one-group summary for logs and tests, e.g.
/// `[64] prunable producers=conv1,layer1.0.conv2 consumers=bn1:batch_norm@0,layer1.0.conv1:conv@0`
/// (a `*k` suffix is a consumer's factor when it is not 1; reasons follow `not prunable:`).
std::string to_string(const ChannelGroup& group);

/// The channel-dependency analysis. Follows every producer's output channels forward through the
/// graph (dim 1 of conv outputs, the last dim of linear outputs):
///
/// - pass-through: batch_norm, relu-likes and other unary activations, max/avg/adaptive pooling,
///   dropout, interpolation, spatial padding, `contiguous`, elementwise ops with a scalar, and
///   mean/sum over spatial dims;
/// - elementwise ops with two tensors (add, sub, mul, div), `prim::ModeSelect`, and `aten::cat`
///   along a non-channel dim tie their operands channel by channel: those groups merge;
/// - `aten::cat` along dim 1 lays its operands side by side; consumers see each group at an offset;
/// - a depthwise convolution (groups == in == out channels) passes its input's channels on, and
///   its own filters join the groups of its input (a `Depthwise` consumer);
/// - `flatten(x, 1)` (or a view/reshape to `[n, -1]`) into a linear layer: the linear layer reads
///   each channel as `in_features / channels` consecutive columns (the consumer's `factor`);
/// - a grouped convolution (1 < groups, not depthwise) is never pruned: its own output group is
///   not prunable, nor are the groups it reads, because its filters tie input channel blocks.
///
/// A group is not prunable when its channels reach a graph output, meet an op the analysis does
/// not understand (reshapes other than the flatten above, transpose/permute, matmul, split, slice,
/// softmax, norms other than batch_norm, nncf compression ops, ...), are combined with a tensor of
/// unknown channels, or tie producers with different channel counts; `reasons` says which.
///
/// Convolutions must be in canonical form (`aten::conv{1,2,3}d`, `aten::conv_transpose{1,2,3}d`,
/// see CanonicalizeConvolution); a layer whose weight is not in `weight_shapes` produces no group
/// and counts as a tensor of unknown channels. Two layers that share a weight are in one group.
/// Ranks are not known to the IR: batch_norm on a linear output is taken as BatchNorm1d over 2-D
/// input, and a mean/sum over dims >= 2 without keepdim as leaving `[n, c]`.
class ChannelGroups {
 public:
  /// Sizes of Parameter inputs by name (at run time: `CompressedModel::tensor(name).sizes()`).
  using WeightShapes = std::map<std::string, std::vector<int64_t>, std::less<>>;

  /// Analyzes `graph`, which must outlive this object (groups point at its nodes).
  ChannelGroups(const ir::Graph& graph, const WeightShapes& weight_shapes);

  /// Groups in the graph order of their first producer.
  const std::vector<ChannelGroup>& groups() const { return groups_; }
  /// The group a producer with this scope belongs to, or nullptr.
  const ChannelGroup* group_of(std::string_view producer_scope) const;

 private:
  std::vector<ChannelGroup> groups_;
};

}  // namespace nncf::passes
