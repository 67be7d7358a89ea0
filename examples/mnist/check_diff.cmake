# cmake -DPLAIN=a.cpp -DCOMPRESSED=b.cpp -DMAX_LINES=n -P check_diff.cmake
# Fails when COMPRESSED adds more than MAX_LINES lines to PLAIN or removes more than MAX_LINES.
find_program(DIFF diff REQUIRED)
execute_process(COMMAND ${DIFF} ${PLAIN} ${COMPRESSED} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
# diff exits 0 for identical files, 1 for different ones, 2 for trouble.
if(rc GREATER 1)
  message(FATAL_ERROR "diff ${PLAIN} ${COMPRESSED} failed: ${rc}")
endif()
string(REGEX MATCHALL "(^|\n)>" added "${out}")
string(REGEX MATCHALL "(^|\n)<" removed "${out}")
list(LENGTH added n_added)
list(LENGTH removed n_removed)
message("${out}")
message("${n_added} lines added, ${n_removed} removed (at most ${MAX_LINES} each)")
if(n_added GREATER MAX_LINES OR n_removed GREATER MAX_LINES)
  message(FATAL_ERROR "the compressed example differs from the plain one by more than ${MAX_LINES} lines")
endif()
