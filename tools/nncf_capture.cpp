// nncf-capture: captures a TorchScript model and shows what nncf-cpp sees -- the IR text (with the
// scope names that `ignored_scopes` / `target_scopes` match), a DOT graph, op statistics -- and can
// fine-tune the captured model for a few steps on Fashion-MNIST next to the original, to show that
// the two train identically, then compress it per an NNCF config and fine-tune the compressed model.
//
//   nncf-capture model.pt --input 1,3,224,224 [--input ...] [--ir out.ir] [--dot out.dot]
//                [--summary] [--scopes] [--train-steps N] [--compress CONFIG.json [--compress-steps N]]
//                [--fashion-mnist DIR]

#include <torch/csrc/jit/serialization/import.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>
#include <zlib.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "nncf/api/compression.h"
#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "nncf/passes/nncf_names.h"
#include "nncf/runtime/compressed_model.h"

namespace {

const char* kUsage =
    "usage: nncf-capture MODEL.pt --input D0,D1,... [--input ...] [--ir FILE] [--dot FILE] [--summary]\n"
    "                    [--scopes]\n"
    "                    [--train-steps N] [--compress CONFIG.json [--compress-steps N]] [--fashion-mnist "
    "DIR]\n"
    "Captures a TorchScript model (traced or scripted) into the nncf-cpp IR and prints it.\n"
    "  --input SHAPE        example input shape, batch first (repeat for several inputs)\n"
    "  --ir FILE            write the IR text to FILE instead of standard output\n"
    "  --dot FILE           write a Graphviz DOT graph to FILE\n"
    "  --summary            print op counts by metatype instead of the IR\n"
    "  --scopes             list every op with both of its names, nncf-cpp's and NNCF's, instead of the\n"
    "                       IR: what ignored_scopes, target_scopes and quantizer ids may name\n"
    "  --train-steps N      then train original and captured model N SGD steps on Fashion-MNIST\n"
    "                       (the model must take 1x28x28 or 3x28x28 inputs and give 10 logits)\n"
    "  --compress FILE      then compress the model per an NNCF JSON config, initialize it on training\n"
    "                       batches, fine-tune it and compare its test accuracy with the FP32 model's\n"
    "  --compress-steps N   fine-tuning steps of the compressed model (default 200)\n"
    "  --fashion-mnist DIR  folder with the Fashion-MNIST IDX files (train-* and t10k-*, gzip)\n";

std::vector<int64_t> parse_shape(const std::string& s) {
  std::vector<int64_t> dims;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long d = std::strtoll(item.c_str(), &end, 10);
    TORCH_CHECK(!item.empty() && *end == '\0' && d > 0, "--input: bad dimension '", item, "' in '", s, "'");
    dims.push_back(d);
  }
  TORCH_CHECK(!dims.empty(), "--input: empty shape");
  return dims;
}

// Reads an IDX file (gzip-compressed): the header's dimensions, then bytes.
torch::Tensor read_idx(const std::string& path, int64_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");
  TORCH_CHECK(f != nullptr, "cannot open '", path, "'");
  auto read_exact = [&](void* dst, unsigned n) {
    const int got = gzread(f, dst, n);
    if (got != static_cast<int>(n)) {
      gzclose(f);
      TORCH_CHECK(false, "'", path, "' is truncated or not gzip-compressed IDX data");
    }
  };
  unsigned char magic[4];
  read_exact(magic, 4);
  const int ndim = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || ndim < 1 || ndim > 4) {
    gzclose(f);
    TORCH_CHECK(false, "'", path, "' is not an IDX file of unsigned bytes");
  }
  std::vector<int64_t> dims;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    read_exact(b, 4);
    dims.push_back((int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
  }
  dims[0] = std::min(dims[0], limit);
  auto t = torch::empty(dims, torch::kUInt8);
  read_exact(t.data_ptr(), static_cast<unsigned>(t.numel()));
  gzclose(f);
  return t;
}

// Fashion-MNIST images (normalized, `channels` copies of the gray channel) and labels.
std::pair<torch::Tensor, torch::Tensor> fashion_mnist(const std::string& dir, const std::string& split,
                                                      int64_t n, int64_t channels) {
  auto images = read_idx(dir + "/" + split + "-images-idx3-ubyte.gz", n).to(torch::kFloat).div_(255);
  auto labels = read_idx(dir + "/" + split + "-labels-idx1-ubyte.gz", n).to(torch::kLong);
  images = images.sub_(0.2860).div_(0.3530).unsqueeze(1).expand({-1, channels, 28, 28}).contiguous();
  return {images, labels};
}

double accuracy(nncf::runtime::CompressedModel& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  const bool training = model->is_training();
  model->eval();
  int64_t correct = 0;
  for (int64_t i = 0; i < x.size(0); i += 250) {
    const int64_t n = std::min<int64_t>(250, x.size(0) - i);
    correct += model->forward(x.narrow(0, i, n)).argmax(1).eq(y.narrow(0, i, n)).sum().item<int64_t>();
  }
  model->train(training);
  return 100.0 * static_cast<double>(correct) / static_cast<double>(x.size(0));
}

// Compresses the (fine-tuned) model per an NNCF config, initializes it on training batches,
// fine-tunes it and reports the accuracy before and after on the first test images.
void compress_and_tune(torch::jit::Module& module, const std::vector<torch::Tensor>& examples,
                       const std::string& config_path, int steps, const std::string& dir) {
  const int64_t batch = 32, channels = examples[0].size(1);
  auto [train_x, train_y] = fashion_mnist(dir, "train", 60000, channels);
  auto [test_x, test_y] = fashion_mnist(dir, "t10k", 2000, channels);
  auto config = nncf::Config::from_file(config_path);

  auto fp32 = nncf::capture::capture_torchscript(module, examples);
  nncf::runtime::CompressedModel fp32_model(std::move(fp32.graph), fp32.tensors);
  const double fp32_accuracy = accuracy(fp32_model, test_x, test_y);

  auto [ctrl, model] =
      nncf::create_compressed_model(nncf::capture::capture_torchscript(module, examples), config, examples);
  ctrl->initialize(nncf::InitData([&](const nncf::InitData::Visitor& visit) {
    for (int64_t i = 0; i + batch <= train_x.size(0); i += batch) {
      if (!visit({train_x.narrow(0, i, batch)})) return;
    }
  }));
  const double initial = accuracy(model, test_x, test_y);
  std::printf("%s: FP32 %.2f%%, compressed right after initialization %.2f%% (first %lld test images)\n",
              ctrl->name().c_str(), fp32_accuracy, initial, static_cast<long long>(test_x.size(0)));

  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.005).momentum(0.9));
  model->train();
  ctrl->scheduler().epoch_step();
  // Fine-tuning continues after the batches the FP32 steps used.
  const int64_t offset = 32 * 200;
  for (int s = 0; s < steps; ++s) {
    ctrl->scheduler().step();
    const int64_t at = (offset + s * batch) % (train_x.size(0) - batch);
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(train_x.narrow(0, at, batch)),
                                                     train_y.narrow(0, at, batch)) +
                ctrl->loss();
    loss.backward();
    opt.step();
    if (s % 25 == 0 || s + 1 == steps)
      std::printf("  compressed fine-tuning step %4d  loss %.4f\n", s, loss.item<float>());
  }
  const double tuned = accuracy(model, test_x, test_y);
  nncf::Statistics summary;
  summary.tables = {ctrl->statistics().tables.front()};
  std::cout << summary.to_string();
  std::printf("accuracy on the first %lld test images: FP32 %.2f%%, %s after %d fine-tuning steps %.2f%%\n",
              static_cast<long long>(test_x.size(0)), fp32_accuracy, ctrl->name().c_str(), steps, tuned);
}

void train_side_by_side(torch::jit::Module& original, nncf::runtime::CompressedModel& captured,
                        int64_t in_channels, int steps, const std::string& dir) {
  const int64_t batch = 32;
  auto [images, labels] = fashion_mnist(dir, "train", batch * steps, in_channels);

  // The two models share their parameters; each step runs on the original, is undone, then runs
  // on the captured model, and the losses are compared.
  std::vector<torch::Tensor> params;
  for (const auto& p : captured->parameters()) params.push_back(p);
  torch::optim::SGD opt(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  original.train();
  captured->train();
  std::cout << "step  loss(original)  loss(captured)\n";
  for (int s = 0; s < steps; ++s) {
    auto x = images.narrow(0, s * batch, batch);
    auto y = labels.narrow(0, s * batch, batch);
    std::vector<torch::Tensor> saved;
    for (const auto& b : captured->buffers()) saved.push_back(b.clone());
    float loss_original;
    {
      torch::NoGradGuard no_grad;
      loss_original = torch::nn::functional::cross_entropy(original.forward({x}).toTensor(), y).item<float>();
    }
    auto bufs = captured->buffers();
    for (size_t i = 0; i < bufs.size(); ++i) bufs[i].detach().copy_(saved[i]);
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(captured->forward(x), y);
    loss.backward();
    opt.step();
    std::printf("%4d  %14.6f  %14.6f\n", s, loss_original, loss.item<float>());
  }
}

// One line per data input and per op: the op, nncf-cpp's scope, NNCF's name (`-` where NNCF
// traces nothing), in graph order.
void print_scopes(const nncf::ir::Graph& graph) {
  std::printf("%-24s %-40s %s\n", "op", "scope", "NNCF name");
  size_t data = 0;
  for (const nncf::ir::Value* in : graph.inputs()) {
    if (in->role() != nncf::ir::InputRole::Data) continue;
    std::printf("%-24s %-40s %s\n", "input", in->name().c_str(),
                nncf::passes::nncf_input_name(data++).c_str());
  }
  for (const nncf::ir::Node* n : graph.nodes()) {
    std::printf("%-24s %-40s %s\n", n->op().c_str(), n->scope().c_str(),
                n->nncf_name().empty() ? "-" : n->nncf_name().c_str());
  }
}

int run(int argc, char** argv) {
  std::string model_path, ir_path, dot_path, mnist_dir, config_path;
  int compress_steps = 200;
  std::vector<torch::Tensor> examples;
  bool summary = false, scopes = false;
  int steps = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      TORCH_CHECK(i + 1 < argc, a, " needs a value\n", kUsage);
      return argv[++i];
    };
    if (a == "--input") {
      examples.push_back(torch::randn(parse_shape(value())));
    } else if (a == "--ir") {
      ir_path = value();
    } else if (a == "--dot") {
      dot_path = value();
    } else if (a == "--summary") {
      summary = true;
    } else if (a == "--scopes") {
      scopes = true;
    } else if (a == "--train-steps") {
      const std::string v = value();
      char* end = nullptr;
      steps = static_cast<int>(std::strtol(v.c_str(), &end, 10));
      TORCH_CHECK(!v.empty() && *end == '\0' && steps >= 0, "--train-steps: expected a count, got '", v, "'");
    } else if (a == "--compress") {
      config_path = value();
    } else if (a == "--compress-steps") {
      const std::string v = value();
      char* end = nullptr;
      compress_steps = static_cast<int>(std::strtol(v.c_str(), &end, 10));
      TORCH_CHECK(!v.empty() && *end == '\0' && compress_steps >= 0,
                  "--compress-steps: expected a count, got '", v, "'");
    } else if (a == "--fashion-mnist") {
      mnist_dir = value();
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      TORCH_CHECK(a[0] != '-' && model_path.empty(), "unexpected argument '", a, "'\n", kUsage);
      model_path = a;
    }
  }
  TORCH_CHECK(!model_path.empty() && !examples.empty(), "a model and at least one --input are needed\n",
              kUsage);
  TORCH_CHECK(steps == 0 || !mnist_dir.empty(), "--train-steps needs --fashion-mnist DIR");
  TORCH_CHECK(config_path.empty() || !mnist_dir.empty(), "--compress needs --fashion-mnist DIR");

  torch::jit::Module module = nncf::capture::load_torchscript(model_path);
  auto cap = nncf::capture::capture_torchscript(module, examples);
  const std::string text = nncf::ir::to_text(cap.graph);
  if (!dot_path.empty()) std::ofstream(dot_path) << nncf::ir::to_dot(cap.graph);
  if (!ir_path.empty()) std::ofstream(ir_path) << text;
  if (scopes) {
    print_scopes(cap.graph);
  } else if (summary) {
    std::map<std::string, int> counts;
    for (const nncf::ir::Node* n : cap.graph.nodes()) counts[nncf::ir::to_string(n->metatype())]++;
    std::cout << model_path << ": " << cap.graph.num_nodes() << " nodes, " << cap.tensors.size()
              << " parameters and buffers\n";
    for (const auto& [kind, n] : counts) std::printf("  %-20s %d\n", kind.c_str(), n);
  } else if (ir_path.empty()) {
    std::cout << text;
  }
  if (steps > 0) {
    nncf::runtime::CompressedModel captured(std::move(cap.graph), cap.tensors);
    train_side_by_side(module, captured, examples[0].size(1), steps, mnist_dir);
  }
  if (!config_path.empty()) compress_and_tune(module, examples, config_path, compress_steps, mnist_dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const c10::Error& e) {
    std::cerr << "nncf-capture: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nncf-capture: " << e.what() << "\n";
    return 1;
  }
}
