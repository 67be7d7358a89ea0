#include "nncf/algorithms/quantization/precision_search.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <set>
#include <sstream>
#include <utility>

namespace nncf::quantization::precision {
namespace {

// Ratios compare with a relative slack, so that a target reached exactly (1.5 from 8 / (16/3)) is
// not lost to rounding.
constexpr double kRatioSlack = 1e-12;

[[noreturn]] void fail(const std::string& what) {
  TORCH_CHECK(false, "nncf: mixed-precision search: ", what);
  std::abort();  // not reached
}

std::string widths_text(const std::vector<int>& bits) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < bits.size(); ++i) s << (i ? ", " : "") << bits[i];
  s << "]";
  return s.str();
}

void check_widths(const std::vector<int>& bits, const std::string& who) {
  if (bits.empty()) fail(who + " allows no width");
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] < 1 || bits[i] > 32)
      fail(who + " allows width " + std::to_string(bits[i]) + ", not in 1..32");
    if (i > 0 && bits[i] <= bits[i - 1])
      fail(who + " has widths " + widths_text(bits) + ": they must be ascending and distinct");
  }
}

// The activation width for the widths its layers got (`used`, any order): the header's rule.
int activation_width(const std::vector<int>& allowed, const std::vector<int>& used) {
  if (allowed.size() == 1) return allowed[0];
  for (int b : allowed)
    if (std::find(used.begin(), used.end(), b) != used.end()) return b;
  return allowed[0];
}

double total_flops(const SearchProblem& p) {
  double f = 0;
  for (const auto& l : p.layers) f += l.flops;
  return f;
}

// Bit complexity of one layer at weight width b with its activation at a (a < 0: none).
double layer_cost(const SearchLayer& l, int b, int a) {
  return l.flops * static_cast<double>(std::max(b, a));
}

[[noreturn]] void unreachable_target(const SearchProblem& p, double max_cost, double min_cost) {
  const double ref = p.reference_bits * total_flops(p);
  std::ostringstream s;
  s << "compression_ratio " << p.compression_ratio
    << " cannot be reached: the allowed widths give ratios from " << ref / max_cost << " to "
    << ref / min_cost;
  fail(s.str());
}

int closest_allowed(const std::vector<int>& allowed, int width) {
  int best = allowed[0];
  for (int b : allowed)
    if (std::abs(b - width) < std::abs(best - width)) best = b;  // ascending: the lower wins a tie
  return best;
}

void non_decreasing(int widths, int length, std::vector<int>& seq, std::vector<std::vector<int>>& out) {
  if (static_cast<int>(seq.size()) == length) {
    out.push_back(seq);
    return;
  }
  for (int w = seq.empty() ? 0 : seq.back(); w < widths; ++w) {
    seq.push_back(w);
    non_decreasing(widths, length, seq, out);
    seq.pop_back();
  }
}

// One item of the knapsack: a group of layers (those one activation quantizer feeds, or one layer
// alone) and its non-dominated joint assignments.
struct ItemOption {
  double cost = 0, metric = 0;
  std::vector<int> bits;  // per layer of the group
};

struct Item {
  std::vector<int> layers;
  int activation = -1;
  std::vector<ItemOption> options;
};

// Keeps the options no other beats on both cost and metric, sorted by cost (metric decreasing).
template <typename T>
std::vector<T> pareto(std::vector<T> v) {
  std::sort(v.begin(), v.end(),
            [](const T& a, const T& b) { return a.cost != b.cost ? a.cost < b.cost : a.metric < b.metric; });
  std::vector<T> kept;
  for (auto& o : v)
    if (kept.empty() || o.metric < kept.back().metric) kept.push_back(std::move(o));
  return kept;
}

}  // namespace

void validate(const SearchProblem& p) {
  if (p.layers.empty()) fail("no weight quantizer to choose widths for");
  if (!(p.compression_ratio > 0))
    fail("compression_ratio must be positive, got " + std::to_string(p.compression_ratio));
  if (p.reference_bits < 1) fail("reference_bits must be positive");
  for (const auto& a : p.activations) check_widths(a.bits, "activation quantizer " + a.id);
  for (const auto& l : p.layers) {
    const std::string who = "weight quantizer " + l.id;
    check_widths(l.bits, who);
    if (l.perturbation.size() != l.bits.size())
      fail(who + " has " + std::to_string(l.perturbation.size()) + " perturbations for " +
           std::to_string(l.bits.size()) + " widths");
    for (double v : l.perturbation)
      if (!std::isfinite(v) || v < 0) fail(who + " has a perturbation that is negative or not finite");
    if (!std::isfinite(l.trace)) fail(who + " has a trace that is not finite");
    if (!(l.flops > 0) || !std::isfinite(l.flops)) fail(who + " has no FLOPs");
    if (l.activation < -1 || l.activation >= static_cast<int>(p.activations.size()))
      fail(who + " names activation quantizer " + std::to_string(l.activation) + " of " +
           std::to_string(p.activations.size()));
  }
}

std::vector<int> activation_bits_for(const SearchProblem& p, const std::vector<int>& weight_bits) {
  std::vector<std::vector<int>> used(p.activations.size());
  for (size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].activation >= 0)
      used[static_cast<size_t>(p.layers[i].activation)].push_back(weight_bits[i]);
  std::vector<int> out(p.activations.size());
  for (size_t a = 0; a < p.activations.size(); ++a) out[a] = activation_width(p.activations[a].bits, used[a]);
  return out;
}

SearchChoice evaluate(const SearchProblem& p, const std::vector<int>& weight_bits) {
  if (weight_bits.size() != p.layers.size()) fail("an assignment of another length than the layers");
  SearchChoice c;
  c.weight_bits = weight_bits;
  c.activation_bits = activation_bits_for(p, weight_bits);
  double cost = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const SearchLayer& l = p.layers[i];
    const auto it = std::find(l.bits.begin(), l.bits.end(), weight_bits[i]);
    if (it == l.bits.end())
      fail("weight quantizer " + l.id + " does not allow width " + std::to_string(weight_bits[i]));
    c.metric += l.trace * l.perturbation[static_cast<size_t>(it - l.bits.begin())];
    cost += layer_cost(l, weight_bits[i],
                       l.activation >= 0 ? c.activation_bits[static_cast<size_t>(l.activation)] : -1);
  }
  c.ratio = p.reference_bits * total_flops(p) / cost;
  return c;
}

int64_t count_non_decreasing_sequences(int widths, int layers) {
  auto choose = [](int64_t n, int64_t k) -> int64_t {
    if (k < 0 || k > n) return 0;
    int64_t r = 1;
    for (int64_t i = 1; i <= k; ++i) {
      if (r > INT64_MAX / (n - k + i)) return int64_t{-1};  // too large
      r = r * (n - k + i) / i;
    }
    return r;
  };
  // Saturates at INT64_MAX instead of overflowing.
  int64_t total = 0;
  for (int j = 1; j <= widths; ++j) {
    const int64_t a = choose(widths, j), b = choose(layers - 1, j - 1);
    if (a < 0 || b < 0 || (b != 0 && a > INT64_MAX / b) || total > INT64_MAX - a * b) return INT64_MAX;
    total += a * b;
  }
  return total;
}

std::vector<std::vector<int>> nncf_candidates(const SearchProblem& p) {
  validate(p);
  std::set<int> all;
  for (const auto& l : p.layers) all.insert(l.bits.begin(), l.bits.end());
  const std::vector<int> widths(all.begin(), all.end());
  std::vector<size_t> order(p.layers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p.layers[a].trace < p.layers[b].trace; });
  // NNCF enumerates them all; past ~10^7 that is hours, not a search.
  constexpr int64_t kMaxCandidates = 10'000'000;
  const int64_t count =
      count_non_decreasing_sequences(static_cast<int>(widths.size()), static_cast<int>(p.layers.size()));
  if (count < 0 || count > kMaxCandidates)
    fail("NNCF's method would enumerate more than " + std::to_string(kMaxCandidates) + " width sequences (" +
         std::to_string(widths.size()) + " widths over " + std::to_string(p.layers.size()) +
         " layers); the exact search has no such limit");
  std::vector<std::vector<int>> sequences;
  std::vector<int> seq;
  non_decreasing(static_cast<int>(widths.size()), static_cast<int>(p.layers.size()), seq, sequences);
  std::vector<std::vector<int>> out;
  std::set<std::vector<int>> seen;
  for (const auto& s : sequences) {
    std::vector<int> bits(p.layers.size());
    for (size_t k = 0; k < order.size(); ++k)
      bits[order[k]] = closest_allowed(p.layers[order[k]].bits, widths[static_cast<size_t>(s[k])]);
    if (seen.insert(bits).second) out.push_back(std::move(bits));
  }
  return out;
}

SearchChoice nncf_choice(const SearchProblem& p) {
  std::vector<SearchChoice> all;
  for (const auto& bits : nncf_candidates(p)) all.push_back(evaluate(p, bits));
  std::stable_sort(all.begin(), all.end(),
                   [](const SearchChoice& a, const SearchChoice& b) { return a.ratio < b.ratio; });
  const SearchChoice* best = nullptr;
  for (const auto& c : all)
    if (c.ratio >= p.compression_ratio * (1 - kRatioSlack) && (best == nullptr || c.metric < best->metric))
      best = &c;
  if (best == nullptr) {
    const double ref = p.reference_bits * total_flops(p);
    unreachable_target(p, ref / all.front().ratio, ref / all.back().ratio);
  }
  return *best;
}

SearchChoice exact_choice(const SearchProblem& p, int64_t max_group_assignments) {
  validate(p);
  // Items: the layers of each activation quantizer, then every layer fed by none.
  std::vector<Item> items(p.activations.size());
  for (size_t a = 0; a < items.size(); ++a) items[a].activation = static_cast<int>(a);
  for (size_t i = 0; i < p.layers.size(); ++i) {
    if (p.layers[i].activation >= 0) {
      items[static_cast<size_t>(p.layers[i].activation)].layers.push_back(static_cast<int>(i));
    } else {
      Item solo;
      solo.layers = {static_cast<int>(i)};
      items.push_back(solo);
    }
  }
  items.erase(std::remove_if(items.begin(), items.end(), [](const Item& it) { return it.layers.empty(); }),
              items.end());
  double min_cost = 0, max_cost = 0;
  for (Item& item : items) {
    int64_t count = 1;
    for (int i : item.layers) {
      count *= static_cast<int64_t>(p.layers[static_cast<size_t>(i)].bits.size());
      if (count > max_group_assignments) {
        const std::string who =
            item.activation >= 0
                ? "activation quantizer " + p.activations[static_cast<size_t>(item.activation)].id
                : "weight quantizer " + p.layers[static_cast<size_t>(i)].id;
        fail("the layers fed by " + who + " have more than " + std::to_string(max_group_assignments) +
             " joint width assignments");
      }
    }
    std::vector<size_t> digit(item.layers.size(), 0);
    std::vector<ItemOption> options;
    for (int64_t n = 0; n < count; ++n) {
      ItemOption o;
      std::vector<int> used;
      for (size_t k = 0; k < item.layers.size(); ++k) {
        const SearchLayer& l = p.layers[static_cast<size_t>(item.layers[k])];
        o.bits.push_back(l.bits[digit[k]]);
        o.metric += l.trace * l.perturbation[digit[k]];
      }
      const int a = item.activation >= 0
                        ? activation_width(p.activations[static_cast<size_t>(item.activation)].bits, o.bits)
                        : -1;
      for (size_t k = 0; k < item.layers.size(); ++k)
        o.cost += layer_cost(p.layers[static_cast<size_t>(item.layers[k])], o.bits[k], a);
      options.push_back(std::move(o));
      for (size_t k = 0; k < digit.size(); ++k) {  // next mixed-radix number
        if (++digit[k] < p.layers[static_cast<size_t>(item.layers[k])].bits.size()) break;
        digit[k] = 0;
      }
    }
    double lo = options[0].cost, hi = options[0].cost;
    for (const auto& o : options) {
      lo = std::min(lo, o.cost);
      hi = std::max(hi, o.cost);
    }
    min_cost += lo;
    max_cost += hi;
    item.options = pareto(std::move(options));
  }
  const double budget = p.reference_bits * total_flops(p) / p.compression_ratio * (1 + kRatioSlack);
  if (min_cost > budget) unreachable_target(p, max_cost, min_cost);
  // DP over items: the Pareto front of partial sums, each entry remembering its parent entry in
  // the previous front and the option taken.
  struct Entry {
    double cost, metric;
    int parent, option;
  };
  std::vector<std::vector<Entry>> fronts;
  std::vector<Entry> front = {{0, 0, -1, -1}};
  for (const Item& item : items) {
    std::vector<Entry> next;
    next.reserve(front.size() * item.options.size());
    for (size_t e = 0; e < front.size(); ++e)
      for (size_t o = 0; o < item.options.size(); ++o) {
        const double cost = front[e].cost + item.options[o].cost;
        if (cost <= budget)
          next.push_back(
              {cost, front[e].metric + item.options[o].metric, static_cast<int>(e), static_cast<int>(o)});
      }
    fronts.push_back(std::move(front));
    front = pareto(std::move(next));
  }
  // The front is sorted by cost with the metric decreasing: its last entry is the optimum.
  std::vector<int> bits(p.layers.size());
  int e = static_cast<int>(front.size()) - 1;
  const std::vector<Entry>* cur = &front;
  for (size_t k = items.size(); k-- > 0;) {
    const Entry& entry = (*cur)[static_cast<size_t>(e)];
    const ItemOption& o = items[k].options[static_cast<size_t>(entry.option)];
    for (size_t j = 0; j < items[k].layers.size(); ++j)
      bits[static_cast<size_t>(items[k].layers[j])] = o.bits[j];
    e = entry.parent;
    cur = &fronts[k];
  }
  return evaluate(p, bits);
}

}  // namespace nncf::quantization::precision
