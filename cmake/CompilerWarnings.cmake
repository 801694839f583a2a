# Strict warnings for ferry's own targets only; dependencies are SYSTEM includes.
option(FERRY_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)

function(ferry_set_warnings target)
  set(warnings
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
      -Woverloaded-virtual -Wdouble-promotion -Wformat=2
      -Wimplicit-fallthrough
      # Protocol messages are aggregates whose trailing fields have default
      # member initializers on purpose; leaving them out is not a mistake.
      -Wno-missing-field-initializers)
  # GCC 12 reports -Wrestrict on plain std::string concatenation at -O2
  # (GCC PR 105329, a false positive); keep it quiet there only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND warnings -Wno-restrict)
  endif()
  if(FERRY_WARNINGS_AS_ERRORS)
    list(APPEND warnings -Werror)
  endif()
  target_compile_options(${target} PRIVATE ${warnings})
endfunction()
