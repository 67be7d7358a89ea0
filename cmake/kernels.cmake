# The kernels layer: fused compression ops registered with the c10 dispatcher as nncf:: operators.
# (Owned by the kernels work; see src/kernels/.)
nncf_layer(kernels SOURCES src/kernels/fake_quantize.cpp)
target_link_libraries(nncf_kernels PUBLIC OpenMP::OpenMP_CXX)
