// The Catch2 main of test_engine (Catch2 2.13 as packaged in Debian 12).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
