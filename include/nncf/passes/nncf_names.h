#pragma once

// NNCF's names for the ops of a captured graph, so that NNCF's own configs (`ignored_scopes`,
// `target_scopes`, `bitwidth_per_scope`, ...) select the same layers here as in NNCF.
//
// NNCF (2.x, PyTorch backend) names an op `<scope>/<op>_<k>`:
//  * `<scope>` is the class of the root module, then one `Class[attribute]` per module from the
//    root down to the module whose forward ran the op:
//    `ResNet/Sequential[layer1]/BasicBlock[0]/NNCFConv2d[conv1]`. Modules NNCF replaces by its
//    own wrappers carry the wrapper's class (`Conv2d` -> `NNCFConv2d`, nncf_wrapped_class).
//  * `<op>` is the name of the Python callable NNCF's patching intercepted: `conv2d`,
//    `batch_norm`, `relu_` (in place) or `relu`, `hardtanh` (ReLU6), `__add__` (`x + y`),
//    `__iadd__` (`x += y`), `cat`, `flatten`, `adaptive_avg_pool2d`, ... (nncf_op_name).
//  * `<k>` counts the earlier calls of the same op in the same scope in one forward: a module
//    called twice (torchvision's `BasicBlock.relu`) runs `relu__0`, then `relu__1`.
// The model's inputs are `/nncf_model_input_<i>`. An indexing expression (`x[:, 0]`) is one
// `__getitem__` however many slice/select ops it traces to.
//
// Where the module of an op comes from:
//  * TorchScript files: recorded while tracing (Note [Module scopes] in capture/trace.cpp); exact,
//    traced or scripted.
//  * C++ modules, which record nothing: the module that owns the op's first parameter
//    (`layer1.0.conv1.weight` -> `layer1.0.conv1`); for an op without parameters, the module of its
//    arguments (as passes/assign_scopes.h infers blocks) or a parameterless child module of it
//    whose class runs that op (a registered `ReLU` for `relu`, `MaxPool2d` for `max_pool2d`), or
//    else a not yet used parameterless child of an enclosing module (a `ResNet`'s `avgpool` after
//    `layer4`). This is inference: an op written functionally next to an unused module of the
//    same kind is attributed to that module. The class of a C++ module is its type's name without
//    namespace and `Impl` (`torch::nn::Conv2dImpl` -> `Conv2d`), or the name given to
//    `torch::nn::Module(name)`.
//
// Not named (NNCF does not trace them): `prim::` structure, size queries and number conversions,
// and ops none of whose arguments derive from the model's data inputs (buffer updates).

#include <map>
#include <string>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// Sets Node::nncf_name of every node (empty where NNCF traces nothing). `module_classes` maps
/// each module path ("" = the root, "layer1.0.conv1") to its class name.
void assign_nncf_names(ir::Graph& graph, const std::map<std::string, std::string>& module_classes);

/// `/nncf_model_input_<index>`: NNCF's name of the index-th data input of the model.
std::string nncf_input_name(size_t index);

/// The op name NNCF gives `node` (`conv2d`, `__iadd__`, ...); empty for an op NNCF does not trace.
std::string nncf_op_name(const ir::Node& node);

/// NNCF's wrapper class for a module class (`Conv2d` -> `NNCFConv2d`), or the class itself.
std::string nncf_wrapped_class(const std::string& cls);

/// Other spellings of an NNCF name that configs written for other NNCF (and torchvision) versions
/// use for the same op: normalization layers unwrapped (`BatchNorm2d[bn1]`, NNCF <= 2.0) or as
/// 2.1's `NNCFBatchNorm[bn1]`; every wrapper unwrapped (`Conv2d[conv1]`, NNCF 1.x); MobileNet's
/// `Conv2dNormActivation` as `ConvBNActivation` (torchvision < 0.13, which NNCF's checkpoint
/// loader maps the same way). Does not include `name` itself.
std::vector<std::string> nncf_name_variants(const std::string& name);

}  // namespace nncf::passes
