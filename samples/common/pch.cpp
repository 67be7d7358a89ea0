// The translation unit of the samples' precompiled header (CMakeLists.txt nncf_sample_pch).
