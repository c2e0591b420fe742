# Installation layout and the Debian package (issue 17), built with CPack's DEB generator:
#
#   deploy/package.sh          → build-package/lienthong_<version>_<arch>.deb
#
# CPack rather than debhelper: the layout is the install() rules below, which `cmake --install`
# also uses; the package is made from an ordinary build tree in seconds with dpkg-deb, with no
# debian/ tree to keep in step with CMake and no second full compile by dpkg-buildpackage.
# dpkg-shlibdeps computes the library Depends; the maintainer scripts in deploy/debian/ create
# the `lienthong` system user and the folders, and purge removes only what they created.
include(GNUInstallDirs)
# cpack and `cmake --install` package what is built, without building `all` first (the tests,
# benchmarks and fuzz drivers): deploy/package.sh builds what it packages, and the package
# test runs after the build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS lienthong-node lienthong-admin RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Under /usr/lib (merged /usr on Debian 12), where packages put their units.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/lienthong.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/node/API.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/monitoring/grafana-dashboard.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Man pages, compressed as Debian policy asks (gzip -n: no timestamp, the same bytes each build).
set(lienthong_man_pages lienthong-node.1 lienthong-admin.1)
set(lienthong_man_outputs)
foreach(page ${lienthong_man_pages})
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/deploy/man/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/deploy/man/${page}
    VERBATIM)
  list(APPEND lienthong_man_outputs ${CMAKE_BINARY_DIR}/man/${page}.gz)
endforeach()
add_custom_target(lienthong_man ALL DEPENDS ${lienthong_man_outputs})
install(FILES ${lienthong_man_outputs} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lienthong)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Liên Thông maintainers <maintainers@lienthong.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "federated node for exchanging official documents between agencies")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "federated node for exchanging official documents between agencies\n Liên Thông lets government agencies exchange official documents directly:\n signed, end-to-end encrypted, stored durably (LMDB) on each side and\n delivered exactly once over ZeroMQ CURVE, with no central hub.\n .\n This package holds lienthong-node (run by systemd as the lienthong user)\n and lienthong-admin.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
