// Precompiled header of the executables (tests, benchmarks, examples, tools): the library's LibTorch
// includes plus the whole C++ frontend, which nearly every test and benchmark includes.
#pragma once
#include "pch.h"

#include <torch/torch.h>
