# The kernels layer: fused compression ops registered with the c10 dispatcher as nncf:: operators.
# (Owned by the kernels work; see src/kernels/.)
#
# The loops of fake_quantize_cpu.cpp, rb_mask_cpu.cpp and binarize_cpu.cpp compile twice, once for baseline x86-64 and
# once for AVX2+FMA (each in its own namespace); the operator picks one at run time (Note [ISA choice]
# in src/kernels/isa.h) and warns once when it cannot use AVX2. Flags (measured, libtorch-recipes.md §4):
#   -fno-trapping-math  lets GCC turn the compares into selects (otherwise the backward stays scalar)
#   -ffp-contract=off   no FMA contraction, so results are bit-identical to the ATen reference
#   -O3                 full vectorisation (Release builds only ask for -O2)
# These TUs include no LibTorch header: they need neither the precompiled header nor its defines.
set(NNCF_KERNEL_LOOP_FLAGS -O3 -fno-trapping-math -ffp-contract=off)

add_library(nncf_kernels_baseline OBJECT src/kernels/fake_quantize_cpu.cpp src/kernels/rb_mask_cpu.cpp
  src/kernels/binarize_cpu.cpp)
target_compile_definitions(nncf_kernels_baseline PRIVATE NNCF_FQ_ISA=baseline)
target_compile_options(nncf_kernels_baseline PRIVATE ${NNCF_KERNEL_LOOP_FLAGS})
set(NNCF_KERNEL_OBJECTS $<TARGET_OBJECTS:nncf_kernels_baseline>)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  add_library(nncf_kernels_avx2 OBJECT src/kernels/fake_quantize_cpu.cpp src/kernels/rb_mask_cpu.cpp
  src/kernels/binarize_cpu.cpp)
  target_compile_definitions(nncf_kernels_avx2 PRIVATE NNCF_FQ_ISA=avx2)
  target_compile_options(nncf_kernels_avx2 PRIVATE ${NNCF_KERNEL_LOOP_FLAGS} -mavx2 -mfma)
  list(APPEND NNCF_KERNEL_OBJECTS $<TARGET_OBJECTS:nncf_kernels_avx2>)
  set(NNCF_KERNELS_HAVE_AVX2 ON)
else()
  # Elsewhere the "avx2" namespace is a second portable build, so the dispatch code stays one.
  add_library(nncf_kernels_avx2 OBJECT src/kernels/fake_quantize_cpu.cpp src/kernels/rb_mask_cpu.cpp
  src/kernels/binarize_cpu.cpp)
  target_compile_definitions(nncf_kernels_avx2 PRIVATE NNCF_FQ_ISA=avx2)
  target_compile_options(nncf_kernels_avx2 PRIVATE ${NNCF_KERNEL_LOOP_FLAGS})
  list(APPEND NNCF_KERNEL_OBJECTS $<TARGET_OBJECTS:nncf_kernels_avx2>)
endif()

nncf_layer(kernels SOURCES src/kernels/fake_quantize.cpp src/kernels/fake_quantize_reference.cpp
  src/kernels/rb_mask.cpp src/kernels/rb_mask_reference.cpp src/kernels/binarize.cpp
  src/kernels/binarize_reference.cpp src/kernels/isa.cpp ${NNCF_KERNEL_OBJECTS})
if(NNCF_KERNELS_HAVE_AVX2)
  target_compile_definitions(nncf_kernels PRIVATE NNCF_KERNELS_HAVE_AVX2)
endif()
# at::parallel_for runs on one thread unless the TU that calls it is compiled with -fopenmp (its
# `#pragma omp parallel` is in the ATen header) and libgomp is linked. Only fake_quantize.cpp,
# rb_mask.cpp and binarize.cpp call it: they alone get -fopenmp, and skip the shared precompiled header, which GCC
# refuses under -fopenmp (_OPENMP differs); the other TUs keep the header. Nothing reaches consumers.
set_source_files_properties(src/kernels/fake_quantize.cpp src/kernels/rb_mask.cpp src/kernels/binarize.cpp PROPERTIES
  COMPILE_OPTIONS "${OpenMP_CXX_FLAGS}" SKIP_PRECOMPILE_HEADERS ON)
target_link_libraries(nncf_kernels PRIVATE ${OpenMP_CXX_LIBRARIES})
