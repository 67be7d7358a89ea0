// A LibTorch program that knows nothing of nncf-cpp (it links only LibTorch): loads a TorchScript
// module and runs it on a pickled tensor, writing the pickled output.
//
//   ts_consumer MODEL.pt INPUT.pkl OUTPUT.pkl

#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: ts_consumer MODEL.pt INPUT.pkl OUTPUT.pkl\n";
    return 2;
  }
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    module.eval();
    std::ifstream in(argv[2], std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const torch::Tensor x = torch::pickle_load(bytes).toTensor();
    torch::NoGradGuard no_grad;
    const torch::Tensor y = module.forward({x}).toTensor();
    const std::vector<char> out = torch::pickle_save(y);
    std::ofstream(argv[3], std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
  } catch (const std::exception& e) {
    std::cerr << "ts_consumer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
