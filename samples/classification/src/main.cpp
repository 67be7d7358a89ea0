// classification: train, compress, evaluate and export an image classifier with nncf-cpp
// (`classification --help` lists the flags; common/cli.cpp).

#include "common/pipeline.h"
#include "task.h"

int main(int argc, char** argv) {
  return nncf_sample::sample_main(argc, argv, nncf_sample::ClassificationTask());
}
