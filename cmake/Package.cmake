# Debian packages (cpack -G DEB, from the build directory): one per install component,
#   iodepth       the command, its report package and the results schema (component cli)
#   iodepth-dev   headers, static libraries, CMake package, iodepth.pc (component dev)
# The command's shared-library dependencies come from dpkg-shlibdeps; what it runs
# (python3 with matplotlib and jsonschema for report / advise) and what the -dev package's
# users link are declared here. Build them with a /usr prefix, as Debian's paths are:
#   cmake -S . -B build/deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build/deb && (cd build/deb && cpack -G DEB)
set(CPACK_PACKAGE_NAME iodepth)
set(CPACK_PACKAGE_VENDOR "iodepth")
set(CPACK_PACKAGE_CONTACT "iodepth maintainers <iodepth@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "direct vs buffered I/O at queue depth: benchmarks and a storage-engine I/O layer")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME iodepth)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "python3, python3-matplotlib, python3-jsonschema")
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "fio")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME iodepth-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libfmt-dev, nlohmann-json3-dev (>= 3.10), liburing-dev (>= 2.1), libisal-dev, pkg-config")
set(CPACK_COMPONENT_CLI_DESCRIPTION "the iodepth command: fio-like jobs, suites, the experiment matrix, report and advice")
set(CPACK_COMPONENT_DEV_DESCRIPTION "iodepth's I/O layer as static libraries, headers, CMake package and pkg-config module")
include(CPack)
