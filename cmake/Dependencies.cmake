# Every dependency comes from a Debian package (see the Makefile's `deps` target).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.1)
# ISA-L computes CRC32C (page checksums) with the fastest instructions the CPU has.
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
if(IODEPTH_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
