#include "nncf/algorithms/quantization/hessian_trace.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <string>

namespace nncf::quantization {

HutchinsonResult hutchinson_traces(const std::vector<at::Tensor>& params,
                                   const std::function<at::Tensor(size_t)>& loss,
                                   const std::vector<int64_t>& batch_sizes,
                                   const HutchinsonOptions& options) {
  TORCH_CHECK(!params.empty(), "nncf: Hessian traces: no parameter to estimate");
  TORCH_CHECK(!batch_sizes.empty(), "nncf: Hessian traces: no data (no batch)");
  TORCH_CHECK(options.max_iterations >= 1, "nncf: Hessian traces: iter_number must be at least 1, got ",
              options.max_iterations);
  TORCH_CHECK(options.tolerance >= 0, "nncf: Hessian traces: tolerance must not be negative");
  for (size_t i = 0; i < params.size(); ++i)
    TORCH_CHECK(params[i].requires_grad(), "nncf: Hessian traces: parameter ", i, " does not require grad");
  int64_t samples = 0;
  for (int64_t b : batch_sizes) {
    TORCH_CHECK(b > 0, "nncf: Hessian traces: a batch of size ", b);
    samples += b;
  }
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  HutchinsonResult r;
  r.traces.assign(params.size(), 0.0);
  std::vector<double> sum(params.size(), 0.0);
  double previous_total = 0;
  for (int64_t it = 1; it <= options.max_iterations; ++it) {
    std::vector<at::Tensor> v;
    v.reserve(params.size());
    for (const auto& p : params)
      v.push_back(
          (at::randint(0, 2, p.sizes(), gen, p.options().device(at::kCPU).requires_grad(false)) * 2 - 1)
              .to(p.device()));
    std::vector<at::Tensor> acc;
    for (const auto& p : params) acc.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous).detach());
    for (size_t b = 0; b < batch_sizes.size(); ++b) {
      const at::Tensor l = loss(b);
      TORCH_CHECK(l.numel() == 1, "nncf: Hessian traces: the loss of batch ", b,
                  " is not a scalar: ", l.sizes());
      const auto grads = torch::autograd::grad({l}, params, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                               /*create_graph=*/true, /*allow_unused=*/true);
      std::vector<at::Tensor> used_grads, used_v, used_params;
      std::vector<size_t> index;
      for (size_t i = 0; i < params.size(); ++i) {
        TORCH_CHECK(grads[i].defined(), "nncf: Hessian traces: the loss does not depend on parameter ", i);
        if (!grads[i].requires_grad()) continue;  // linear in it: H v = 0
        used_grads.push_back(grads[i]);
        used_v.push_back(v[i]);
        used_params.push_back(params[i]);
        index.push_back(i);
      }
      if (used_grads.empty()) continue;
      const auto hv = torch::autograd::grad(used_grads, used_params, used_v, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
      for (size_t k = 0; k < index.size(); ++k)
        if (hv[k].defined()) acc[index[k]].add_(hv[k].detach(), static_cast<double>(batch_sizes[b]));
    }
    double total = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      const double t = (acc[i] / static_cast<double>(samples) * v[i]).sum().item<double>() /
                       static_cast<double>(params[i].numel());
      sum[i] += t;
      r.traces[i] = sum[i] / static_cast<double>(it);
      total += r.traces[i];
    }
    r.iterations = it;
    if (it > 1 && std::abs(total - previous_total) / (std::abs(previous_total) + 1e-6) < options.tolerance) {
      r.converged = true;
      break;
    }
    previous_total = total;
  }
  return r;
}

}  // namespace nncf::quantization
