#pragma once

// Mixed-precision search (HAWQ-v2, nncf-reference.md §3.3), on plain numbers: given each weight
// quantizer's average Hessian trace, its quantization perturbation at every allowed width and its
// layer's FLOPs, choose one width per weight quantizer (and the activation widths that follow)
// minimizing the sensitivity
//
//     metric = sum_i trace_i * perturbation_i(b_i)
//
// under NNCF's bit-complexity constraint
//
//     ratio = reference_bits * sum_i flops_i / sum_i flops_i * max(b_i, a_i)  >=  compression_ratio
//
// where a_i is the width of the activation quantizer feeding layer i (b_i when none does).
//
// Activation widths follow from the weights (NNCF's `liberal` mode): an activation quantizer with
// one allowed width takes it; otherwise the smallest of its allowed widths that one of the layers
// it feeds uses, or its smallest allowed width when none does.
//
// Two methods:
//  * nncf_choice: NNCF's. Layers ordered by trace, ascending (ties by index); the candidates are
//    all non-decreasing sequences over that order of the union of allowed widths, a width a layer
//    does not allow replaced by its closest allowed one (the lower on a tie), duplicates dropped;
//    among the candidates meeting the ratio, the smallest metric (the first in ascending-ratio
//    order on a tie). A heuristic: the candidates are a small subset of all assignments.
//  * exact_choice: the optimum of the same objective under the same constraint over all
//    assignments, a multiple-choice knapsack solved exactly by dynamic programming over Pareto
//    fronts of (bit complexity, metric). Layers fed by one activation quantizer are one item,
//    enumerated jointly (the activation width couples their costs). Never worse than nncf_choice
//    on the metric (its candidates are among the assignments it searches).

#include <cstdint>
#include <string>
#include <vector>

namespace nncf::quantization::precision {

/// One weight-quantized layer of the search.
struct SearchLayer {
  std::string id;                    ///< the weight quantizer's id, for messages
  double trace = 0;                  ///< average Hessian trace of the weight
  std::vector<int> bits;             ///< allowed widths, ascending, distinct
  std::vector<double> perturbation;  ///< ||Q_b(W) - W||^2, one per entry of `bits`
  double flops = 0;                  ///< the layer's FLOPs (2 MACs), > 0
  int activation = -1;               ///< index of the activation quantizer feeding it, -1: none
};

/// An activation quantizer whose width follows from the layers it feeds.
struct SearchActivation {
  std::string id;
  std::vector<int> bits;  ///< allowed widths, ascending, distinct
};

struct SearchProblem {
  std::vector<SearchLayer> layers;
  std::vector<SearchActivation> activations;
  double compression_ratio = 1.5;
  int reference_bits = 8;
};

struct SearchChoice {
  std::vector<int> weight_bits;      ///< per layer
  std::vector<int> activation_bits;  ///< per activation quantizer
  double metric = 0;
  double ratio = 0;
};

/// Throws c10::Error (naming the layer or activation) when the problem is malformed: empty or unsorted
/// widths, a perturbation list of another length, non-positive FLOPs, a bad activation index.
void validate(const SearchProblem& p);

/// The activation widths that follow from `weight_bits` (the rule above).
std::vector<int> activation_bits_for(const SearchProblem& p, const std::vector<int>& weight_bits);

/// `ratio` and `metric` of an assignment of weight widths.
SearchChoice evaluate(const SearchProblem& p, const std::vector<int>& weight_bits);

/// NNCF's candidate assignments (the rule above), in enumeration order; throws past 10^7 sequences.
std::vector<std::vector<int>> nncf_candidates(const SearchProblem& p);

/// The number of non-decreasing sequences of length `layers` over `widths` values,
/// sum_{j=1..m} C(m, j) C(L-1, j-1) (before widths are mapped to allowed ones); INT64_MAX when
/// larger.
int64_t count_non_decreasing_sequences(int widths, int layers);

/// NNCF's choice; throws naming the achievable ratios when no candidate meets the target.
SearchChoice nncf_choice(const SearchProblem& p);

/// The exact optimum; throws naming the achievable ratios when no assignment meets the target,
/// and when a group of layers sharing an activation quantizer has more than `max_group_assignments`
/// joint assignments.
SearchChoice exact_choice(const SearchProblem& p, int64_t max_group_assignments = 1 << 20);

}  // namespace nncf::quantization::precision
