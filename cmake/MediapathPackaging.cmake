# The Debian package (CPack DEB): `cpack -G DEB` in a build directory, after the build.
# Build it from the release preset — the dev and ci presets link ASan/UBSan, which the package
# then depends on (libasan8, libubsan1) and which slow the agent down:
#   cmake --preset release && cmake --build --preset release && (cd build/release && cpack -G DEB)
#
# Layout (Debian paths; install prefix /usr):
#   /usr/bin/mediapath-agent                       (agent/CMakeLists.txt installs the binary)
#   /lib/systemd/system/mediapath-agent.service    the unit; never enabled or started by the
#                                                  package (no maintainer scripts at all)
#   /etc/mediapath-agent/agent.json                conffile: dpkg keeps the operator's edits
#   /usr/share/mediapath-agent/                    agent.example.json, alerts.yml,
#                                                  grafana-dashboard.json, README.md (monitoring)
#   /usr/share/man/man1/mediapath-agent.1.gz
#   /usr/share/doc/mediapath-agent/                copyright, operations.md (the operator
#                                                  guide), README.systemd, examples/
# Nothing else in the tree installs files, so the package holds exactly these.
#
# The files outside the prefix (/etc, /lib/systemd) belong to component "system", which a plain
# `cmake --install` skips (EXCLUDE_FROM_ALL): installing a build must not overwrite the site's
# /etc/mediapath-agent/agent.json. CPack installs every component listed below into one package.

# The man page is gzipped at build time (-n: no name or time stamp, so rebuilds are identical).
set(MEDIAPATH_MAN_PAGE "${PROJECT_BINARY_DIR}/man/mediapath-agent.1.gz")
add_custom_command(
  OUTPUT "${MEDIAPATH_MAN_PAGE}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/man"
  COMMAND gzip -9 -n -c "${PROJECT_SOURCE_DIR}/docs/mediapath-agent.1" > "${MEDIAPATH_MAN_PAGE}"
  DEPENDS "${PROJECT_SOURCE_DIR}/docs/mediapath-agent.1"
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(mediapath-man ALL DEPENDS "${MEDIAPATH_MAN_PAGE}")

install(FILES "${MEDIAPATH_MAN_PAGE}" DESTINATION share/man/man1)
install(FILES "${PROJECT_SOURCE_DIR}/systemd/mediapath-agent.service"
        DESTINATION /lib/systemd/system COMPONENT system EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_SOURCE_DIR}/config/agent.example.json"
        DESTINATION /etc/mediapath-agent RENAME agent.json COMPONENT system EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_SOURCE_DIR}/config/agent.example.json"
              "${PROJECT_SOURCE_DIR}/config/alerts.yml"
              "${PROJECT_SOURCE_DIR}/config/grafana-dashboard.json"
              "${PROJECT_SOURCE_DIR}/config/README.md"
        DESTINATION share/mediapath-agent)
install(FILES "${PROJECT_SOURCE_DIR}/docs/copyright" "${PROJECT_SOURCE_DIR}/docs/operations.md"
        DESTINATION share/doc/mediapath-agent)
install(FILES "${PROJECT_SOURCE_DIR}/systemd/README.md"
        DESTINATION share/doc/mediapath-agent RENAME README.systemd)
install(FILES "${PROJECT_SOURCE_DIR}/systemd/credentials.conf.example"
              "${PROJECT_SOURCE_DIR}/systemd/listen.conf.example"
        DESTINATION share/doc/mediapath-agent/examples)

# Files under /etc are conffiles only when listed (debhelper would do it; CPack does not).
file(WRITE "${PROJECT_BINARY_DIR}/debian/conffiles" "/etc/mediapath-agent/agent.json\n")

set(CPACK_GENERATOR DEB)
# One package from every component: the binary's (Unspecified), the rest, and "system".
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified system)
set(CPACK_PACKAGE_NAME mediapath-agent)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "mediapath-agent maintainers <mediapath-agent@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "media-path probes, Prometheus metrics and Genesys Cloud failover for one office")
# The synopsis line is the summary above; this is the long description below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Probes the STUN/TURN servers, media proxies, SIP ports and DNS names a contact-centre\n\
site depends on (RTT, jitter, loss, estimated MOS), exports Prometheus metrics, and moves\n\
the Genesys Cloud media proxy off a failing path without flapping. Runs as the systemd\n\
service mediapath-agent (installed, not enabled).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed by dpkg-shlibdeps (dpkg-dev) from the libraries the binary links.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
