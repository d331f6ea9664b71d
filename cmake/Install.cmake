# The installed package (docs/INSTALL.md): the public headers under
# <prefix>/include/iodepth/<layer>/, the layer libraries (static), the CMake package
# iodepth (targets iodepth::<layer>, version checked as SameMajorVersion) and iodepth.pc.
# iodepth_layer() in src/CMakeLists.txt installs each layer's headers and library; this
# file writes what describes them. Include it after src/.
include(CMakePackageConfigHelpers)
set(IODEPTH_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/iodepth)

install(EXPORT iodepthTargets NAMESPACE iodepth:: DESTINATION ${IODEPTH_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/iodepthConfig.cmake.in
  ${PROJECT_BINARY_DIR}/iodepthConfig.cmake INSTALL_DESTINATION ${IODEPTH_INSTALL_CMAKEDIR})
# 0.x promises no stability across minor versions (docs/INSTALL.md): 0.1 accepts 0.1.*
# only. From 1.0 on, SameMajorVersion's own rule holds.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/iodepthConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${compatibility})
install(FILES ${PROJECT_BINARY_DIR}/iodepthConfig.cmake ${PROJECT_BINARY_DIR}/iodepthConfigVersion.cmake
  DESTINATION ${IODEPTH_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config: one module, every layer library from the top layer down (static link order).
get_property(layers GLOBAL PROPERTY IODEPTH_LAYERS)
list(REVERSE layers)
list(TRANSFORM layers PREPEND -liodepth_ OUTPUT_VARIABLE IODEPTH_PC_LIBS)
list(JOIN IODEPTH_PC_LIBS " " IODEPTH_PC_LIBS)
file(RELATIVE_PATH IODEPTH_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${CMAKE_CURRENT_LIST_DIR}/iodepth.pc.in ${PROJECT_BINARY_DIR}/iodepth.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/iodepth.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
