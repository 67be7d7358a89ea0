# cmake -DMNIST=exe -DMNIST_COMPRESSED=exe -DDATA=dir -DWORK_DIR=dir -P run.cmake
# Runs both examples for one short epoch on the IDX files of DATA (raw, or gzipped as Fashion-MNIST
# ships them; decompressed into WORK_DIR once), and checks that the compressed one exports ONNX.
set(data_dir ${WORK_DIR}/data)
file(MAKE_DIRECTORY ${data_dir})
foreach(name train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
  set(out ${data_dir}/${name})
  if(EXISTS ${out})
    continue()
  elseif(EXISTS ${DATA}/${name})
    file(CREATE_LINK ${DATA}/${name} ${out} SYMBOLIC)
  elseif(EXISTS ${DATA}/${name}.gz)
    find_program(ZCAT zcat REQUIRED)
    # Written under a temporary name first, so an interrupted run leaves no truncated file.
    execute_process(COMMAND ${ZCAT} ${DATA}/${name}.gz OUTPUT_FILE ${out}.part RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "zcat ${DATA}/${name}.gz failed: ${rc}")
    endif()
    file(RENAME ${out}.part ${out})
  else()
    message("example_mnist_runs: skipped, no ${name}[.gz] in ${DATA}")
    return()
  endif()
endforeach()

# One epoch of 20 batches each.
set(onnx ${WORK_DIR}/mnist_int8.onnx)
file(REMOVE ${onnx})
foreach(exe ${MNIST} ${MNIST_COMPRESSED})
  message("-- ${exe} ${data_dir} 1 20")
  execute_process(COMMAND ${exe} ${data_dir} 1 20 WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${exe} failed: ${rc}")
  endif()
endforeach()

if(NOT EXISTS ${onnx})
  message(FATAL_ERROR "${MNIST_COMPRESSED} wrote no ${onnx}")
endif()
# QuantizeLinear, or OpenVINO's FakeQuantize: the exported model holds quantizers.
file(STRINGS ${onnx} quantizers REGEX "Quantize" LIMIT_COUNT 1)
if(NOT quantizers)
  message(FATAL_ERROR "${onnx} holds no quantizer")
endif()
