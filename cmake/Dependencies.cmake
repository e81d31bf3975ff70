find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS json url)
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(date CONFIG REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(JWT REQUIRED IMPORTED_TARGET libjwt)
find_package(CURL REQUIRED)

# libpqxx 6.4 from Debian leaves PQXX_HAVE_OPTIONAL undefined; std::optional
# fields then crash in stream_from. Every user of pqxx gets the define.
target_compile_definitions(PkgConfig::PQXX INTERFACE PQXX_HAVE_OPTIONAL=1)

find_path(HPDF_INCLUDE_DIR hpdf.h REQUIRED)
find_library(HPDF_LIBRARY hpdf REQUIRED)
add_library(hpdf::hpdf UNKNOWN IMPORTED)
set_target_properties(hpdf::hpdf PROPERTIES
  IMPORTED_LOCATION ${HPDF_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${HPDF_INCLUDE_DIR})
