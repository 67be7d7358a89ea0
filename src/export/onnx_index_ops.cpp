// Converters for advanced indexing (aten::index) and roll (see onnx_ops.h).

#include <ATen/ATen.h>
#include <c10/util/StringUtil.h>

#include <algorithm>

#include "onnx_ops.h"

namespace nncf::exporting::detail {
namespace {

using Kind = Sym::Kind;

// onnx::TensorProto::DataType values.
constexpr int32_t kUint8 = 2, kInt8 = 3, kInt16 = 5, kInt32 = 6, kInt64 = 7, kBool = 9;

// One long index tensor and the dim of `self` it indexes.
struct IndexAt {
  int64_t dim;
  std::string index;  ///< int64
  int64_t rank;       ///< its rank (before broadcasting)
};

// aten::index.Tensor(self, Tensor?[] indices), PyTorch's advanced indexing: None entries keep a
// dim whole; the index tensors broadcast to one shape B; a k-d bool mask stands for the k long
// index tensors of its nonzero positions. The result is self.shape[:p] + B + self.shape[q+1:] when
// the indexed dims p..q are adjacent, and B + the other dims otherwise.
//   one index tensor: Gather (which takes negative indices);
//   several: the indexed dims moved to the front, the indices wrapped into [0, size), broadcast and
//   stacked on a last axis for GatherND, and B moved back to p when the dims are adjacent.
void index(Context& c) {
  std::string x = c.tensor(0);
  Sym list = c.arg(1);
  if (list.kind != Kind::TensorList) c.fail("the indices must be a list of optional tensors");
  const int64_t r = c.rank(x);
  std::vector<IndexAt> at;
  int64_t dim = 0;
  for (const Sym& s : list.items) {
    if (s.kind == Kind::None) {
      ++dim;
      continue;
    }
    if (s.kind != Kind::Tensor) c.fail("an index is neither a tensor nor None");
    const std::optional<int32_t> type = c.b.elem_type(s.name);
    if (!type) c.fail(c10::str("the element type of index '", s.name, "' is unknown"));
    if (*type == kBool || *type == kUint8) {
      // NonZero gives [k, count]: row j indexes dim + j.
      const int64_t k = c.rank(s.name);
      std::string nz = c.b.add("NonZero", {s.name}, {}, c.tmp("nonzero"));
      for (int64_t j = 0; j < k; ++j) {
        std::string row =
            c.b.add("Gather", {nz, c.b.add_initializer(c.tmp("row"), at::scalar_tensor(j, at::kLong))},
                    {{"axis", int64_t{0}}}, c.tmp("mask_index"));
        at.push_back({dim + j, row, 1});
      }
      dim += k;
    } else if (*type == kInt64 || *type == kInt32 || *type == kInt16 || *type == kInt8) {
      std::string i =
          *type == kInt64 ? s.name : c.b.add("Cast", {s.name}, {{"to", int64_t{kInt64}}}, c.tmp("index"));
      at.push_back({dim++, i, c.rank(s.name)});
    } else {
      c.fail(c10::str("index '", s.name, "' has ONNX element type ", *type, ", not an integer or bool"));
    }
  }
  if (dim > r) c.fail(c10::str(dim, " indices for a tensor of rank ", r));
  if (at.empty()) return c.set_output(0, Sym::tensor(x));
  if (at.size() == 1) return c.emit("Gather", {x, at[0].index}, {{"axis", at[0].dim}});

  const int64_t k = static_cast<int64_t>(at.size());
  bool adjacent = true;
  std::vector<int64_t> perm;
  for (int64_t j = 0; j < k; ++j) {
    adjacent = adjacent && at[j].dim == at[0].dim + j;
    perm.push_back(at[j].dim);
  }
  for (int64_t d = 0; d < r; ++d) {
    if (std::find(perm.begin(), perm.end(), d) == perm.end()) perm.push_back(d);
  }
  bool identity = true;
  for (int64_t d = 0; d < r; ++d) identity = identity && perm[d] == d;
  std::string data = identity ? x : c.b.add("Transpose", {x}, {{"perm", perm}}, c.tmp("indexed_first"));

  // GatherND wants indices in [0, size): Mod with the dim's size (the sign of the divisor).
  std::string shape = c.b.add("Shape", {x}, {}, c.tmp("shape_of"));
  std::string zero = c.b.add_initializer(c.tmp("zero"), at::scalar_tensor(0, at::kLong));
  std::vector<std::string> wrapped;
  std::string zeros;  // 0 in the broadcast shape of all indices
  int64_t batch_rank = 0;
  for (const IndexAt& i : at) {
    // A 0-d size, so that a 0-d index stays 0-d.
    std::string size =
        c.b.add("Gather", {shape, c.b.add_initializer(c.tmp("dim"), at::scalar_tensor(i.dim, at::kLong))},
                {{"axis", int64_t{0}}}, c.tmp("size"));
    wrapped.push_back(c.b.add("Mod", {i.index, size}, {}, c.tmp("wrapped")));
    std::string z = c.b.add("Mul", {wrapped.back(), zero}, {}, c.tmp("zeros"));
    zeros = zeros.empty() ? z : c.b.add("Add", {zeros, z}, {}, c.tmp("zeros"));
    batch_rank = std::max(batch_rank, i.rank);
  }
  std::vector<std::string> stacked;
  for (const std::string& w : wrapped) {
    std::string b = c.b.add("Add", {w, zeros}, {}, c.tmp("broadcast"));
    stacked.push_back(c.b.add("Unsqueeze", {b, c.b.add_ints(c.tmp("last"), {-1})}, {}, c.tmp("column")));
  }
  std::string indices = c.b.add("Concat", stacked, {{"axis", int64_t{-1}}}, c.tmp("indices"));
  const int64_t p = at[0].dim;
  if (!adjacent || p == 0) return c.emit("GatherND", {data, indices});
  // [B..., self.shape[:p]..., rest...] -> [self.shape[:p]..., B..., rest...]
  std::string g = c.b.add("GatherND", {data, indices}, {}, c.tmp("gathered"));
  std::vector<int64_t> back;
  for (int64_t d = 0; d < p; ++d) back.push_back(batch_rank + d);
  for (int64_t d = 0; d < batch_rank; ++d) back.push_back(d);
  for (int64_t d = batch_rank + p; d < batch_rank + r - k; ++d) back.push_back(d);
  c.emit("Transpose", {g}, {{"perm", back}});
}

// roll(x, shifts, dims): per dim, the last `shift` elements move to the front (Slice + Concat).
void roll(Context& c) {
  std::string x = c.tensor(0);
  const std::vector<int64_t> shifts = c.ints(1);
  const std::vector<int64_t> dims = c.num_args() > 2 ? c.ints(2) : std::vector<int64_t>{};
  if (dims.empty()) c.fail("roll of the flattened tensor (no dims)");
  if (shifts.size() != dims.size()) c.fail(c10::str(shifts.size(), " shifts for ", dims.size(), " dims"));
  auto in = c.b.shape(x);
  if (!in) c.fail("the input's shape is unknown");
  std::string y = x;
  for (size_t j = 0; j < dims.size(); ++j) {
    const int64_t rank = static_cast<int64_t>(in->size());
    const int64_t d = dims[j] < 0 ? dims[j] + rank : dims[j];
    if (d < 0 || d >= rank) c.fail(c10::str("dim ", dims[j], " for a tensor of rank ", rank));
    const int64_t n = (*in)[d];
    if (n < 0) c.fail(c10::str("the size of dim ", dims[j], " is unknown"));
    const int64_t s = n == 0 ? 0 : ((shifts[j] % n) + n) % n;
    if (s == 0) continue;
    auto part = [&](int64_t from, int64_t to) {
      return c.b.add("Slice",
                     {y, c.b.add_ints(c.tmp("from"), {from}), c.b.add_ints(c.tmp("to"), {to}),
                      c.b.add_ints(c.tmp("axes"), {d})},
                     {}, c.tmp("part"));
    };
    std::string tail = part(n - s, n), head = part(0, n - s);
    y = c.b.add("Concat", {tail, head}, {{"axis", d}}, c.tmp("rolled"));
  }
  c.set_output(0, Sym::tensor(y));
}

}  // namespace

void add_index_converters(std::unordered_map<std::string, Converter>& m) {
  m.insert({
      {"aten::index", index},
      {"aten::roll", roll},
  });
}

}  // namespace nncf::exporting::detail
