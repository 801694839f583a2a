# Strict warnings for ferry's own targets only; dependencies are SYSTEM includes.
option(FERRY_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)

function(ferry_set_warnings target)
  set(warnings
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
      -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
      -Wimplicit-fallthrough)
  if(FERRY_WARNINGS_AS_ERRORS)
    list(APPEND warnings -Werror)
  endif()
  target_compile_options(${target} PRIVATE ${warnings})
endfunction()
