# cmake -DMNIST=exe -DMNIST_COMPRESSED=exe -DCAPTURE=exe -P clean_error.cmake
# The programs fail on bad input with status 1 and their error message alone: none of the C++
# backtrace that c10::Error::what() appends ("Exception raised from f at /build/path/file.cpp:N
# (most recent call first):", "frame #0: ...").
function(expect_clean_error message)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  message("-- ${ARGN}: status ${rc}\n${err}")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "expected status 1, got ${rc}")
  endif()
  string(FIND "${err}" "${message}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the error does not say '${message}'")
  endif()
  foreach(trace "Exception raised from" "frame #")
    string(FIND "${err}" "${trace}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "the error carries a backtrace ('${trace}')")
    endif()
  endforeach()
endfunction()

expect_clean_error("Error opening images file at /nonexistent" ${MNIST} /nonexistent 1 1)
expect_clean_error("Error opening images file at /nonexistent" ${MNIST_COMPRESSED} /nonexistent 1 1)
expect_clean_error("--input: bad dimension '0'" ${CAPTURE} model.pt --input 1,0)
