// Captures a two-layer model through the installed headers and libraries and checks the captured
// module computes what the model computes.
#include <nncf/capture/capture.h>
#include <nncf/runtime/compressed_model.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/activation.h>

#include <iostream>

int main() {
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Linear(8, 3));
  auto cap = nncf::capture::capture_module(net, {torch::randn({2, 4})});
  nncf::runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  auto x = torch::randn({5, 4});
  const bool same = torch::allclose(model->forward(x), net->forward(x));
  std::cout << (same ? "consumer: captured model matches" : "consumer: MISMATCH") << "\n";
  return same ? 0 : 1;
}
