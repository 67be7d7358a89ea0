// The classic LibTorch MNIST example: a small convolutional network trained with SGD, then tested.
// Fashion-MNIST works as well: it has the same file format. mnist.cpp trains the network as it is;
// mnist_compressed.cpp, the same program but for a few lines, trains it with INT8 quantization-aware
// training and exports the quantized model to mnist_int8.onnx.
//
//   mnist[_compressed] [DATA_DIR [EPOCHS [BATCHES_PER_EPOCH]]]
//
// DATA_DIR holds the uncompressed IDX files (train-images-idx3-ubyte, t10k-images-idx3-ubyte and
// their labels); default ./data. BATCHES_PER_EPOCH limits the training batches of an epoch (0, the
// default, trains on the whole set).

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "nncf/api/compression.h"

constexpr int64_t kTrainBatchSize = 64;
constexpr int64_t kTestBatchSize = 1000;
constexpr int64_t kLogInterval = 10;

struct Net : torch::nn::Module {
  Net()
      : conv1(torch::nn::Conv2dOptions(1, 10, /*kernel_size=*/5)),
        conv2(torch::nn::Conv2dOptions(10, 20, /*kernel_size=*/5)),
        fc1(320, 50),
        fc2(50, 10) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv2_drop", conv2_drop);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(torch::max_pool2d(conv1->forward(x), 2));
    x = torch::relu(torch::max_pool2d(conv2_drop->forward(conv2->forward(x)), 2));
    x = x.view({-1, 320});
    x = torch::relu(fc1->forward(x));
    x = torch::dropout(x, /*p=*/0.5, /*train=*/is_training());
    x = fc2->forward(x);
    return torch::log_softmax(x, /*dim=*/1);
  }

  torch::nn::Conv2d conv1;
  torch::nn::Conv2d conv2;
  torch::nn::Dropout2d conv2_drop;
  torch::nn::Linear fc1;
  torch::nn::Linear fc2;
};

// One epoch, or its first `max_batches` batches when that is positive.
template <typename Model, typename DataLoader>
void train(int64_t epoch, Model& model, DataLoader& loader, torch::optim::Optimizer& optimizer,
           int64_t max_batches) {
  model->train();
  int64_t batch_idx = 0;
  for (auto& batch : loader) {
    if (max_batches > 0 && batch_idx == max_batches) break;
    optimizer.zero_grad();
    auto output = model->forward(batch.data);
    auto loss = torch::nll_loss(output, batch.target);
    TORCH_CHECK(!std::isnan(loss.template item<float>()), "the loss is NaN at batch ", batch_idx);
    loss.backward();
    optimizer.step();
    if (batch_idx++ % kLogInterval == 0) {
      std::printf("Train Epoch: %lld [%6lld] Loss: %.4f\n", static_cast<long long>(epoch),
                  static_cast<long long>(batch_idx * kTrainBatchSize), loss.template item<float>());
    }
  }
}

template <typename Model, typename DataLoader>
void test(Model& model, DataLoader& loader, size_t dataset_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  double test_loss = 0;
  int64_t correct = 0;
  for (const auto& batch : loader) {
    auto output = model->forward(batch.data);
    test_loss +=
        torch::nll_loss(output, batch.target, /*weight=*/{}, torch::Reduction::Sum).template item<float>();
    correct += output.argmax(1).eq(batch.target).sum().template item<int64_t>();
  }
  std::printf("Test set: Average loss: %.4f | Accuracy: %.3f\n", test_loss / dataset_size,
              static_cast<double>(correct) / dataset_size);
}

int run(int argc, char** argv) {
  const char* data_root = argc > 1 ? argv[1] : "./data";
  const int64_t epochs = argc > 2 ? std::atoll(argv[2]) : 10;
  const int64_t batches_per_epoch = argc > 3 ? std::atoll(argv[3]) : 0;
  torch::manual_seed(1);

  auto net = std::make_shared<Net>();
  auto config = nncf::Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]}, "compression":
      {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 256}}}})");
  auto [ctrl, model] = nncf::create_compressed_model(net, config);

  auto train_dataset = torch::data::datasets::MNIST(data_root)
                           .map(torch::data::transforms::Normalize<>(0.1307, 0.3081))
                           .map(torch::data::transforms::Stack<>());
  auto train_loader = torch::data::make_data_loader(std::move(train_dataset), kTrainBatchSize);
  ctrl->initialize(train_loader);

  auto test_dataset = torch::data::datasets::MNIST(data_root, torch::data::datasets::MNIST::Mode::kTest)
                          .map(torch::data::transforms::Normalize<>(0.1307, 0.3081))
                          .map(torch::data::transforms::Stack<>());
  const size_t test_dataset_size = test_dataset.size().value();
  auto test_loader = torch::data::make_data_loader(std::move(test_dataset), kTestBatchSize);

  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.5));

  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    ctrl->scheduler().epoch_step();
    train(epoch, model, *train_loader, optimizer, batches_per_epoch);
    test(model, *test_loader, test_dataset_size);
  }
  ctrl->export_model("mnist_int8.onnx");
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const c10::Error& e) {
    // what() would add LibTorch's C++ backtrace; the message alone says what is wrong.
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what_without_backtrace());
    return 1;
  }
}
