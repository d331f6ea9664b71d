# Build options. Sanitizers are chosen by name so CI can build each flavour in its own tree.
option(IODEPTH_BUILD_TESTS "Build the GoogleTest suites" ON)
set(IODEPTH_SANITIZE "" CACHE STRING "Sanitizers: '', 'address,undefined' or 'thread'")

if(IODEPTH_SANITIZE)
  add_compile_options(-fsanitize=${IODEPTH_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${IODEPTH_SANITIZE})
endif()
