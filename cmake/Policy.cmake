# Policy every target links: language options, warnings, sanitizers.
add_library(dm_options INTERFACE)
add_library(dm::options ALIAS dm_options)
target_compile_features(dm_options INTERFACE cxx_std_20)

if(DM_SANITIZE)
  target_compile_options(dm_options INTERFACE -fsanitize=${DM_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(dm_options INTERFACE -fsanitize=${DM_SANITIZE})
endif()

add_library(dm_warnings INTERFACE)
add_library(dm::warnings ALIAS dm_warnings)
target_compile_options(dm_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wpedantic -Wold-style-cast
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wlogical-op>
  $<$<BOOL:${DM_WERROR}>:-Werror>)
