// Shared by the interop tests: a fixture base for one real TLS peer from a Debian package.
//
// Each peer test skips (never fails) when its program is not installed, so that a developer
// machine without nginx still runs the rest; ci/install-deps installs them all, so in CI they run.
// Every fixture gets a fresh CA, so no test can pass by trusting another test's root.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include <tlsfix/ca.hpp>
#include <tlsfix/harness.hpp>

#include "support.hpp"

namespace tlsfix::interop {

// The name every interop server is issued for and every client dials (RFC 6761/6762 reserved).
inline constexpr const char* kHost = "service.test.local";

class PeerTest : public ::testing::Test {
 protected:
  explicit PeerTest(std::string program) : program_(std::move(program)) {}

  void SetUp() override {
    if (!test::have_program(program_))
      GTEST_SKIP() << program_ << " is not on PATH; ci/install-deps installs it (Debian packages curl, "
                   << "openssl, gnutls-bin, python3, nginx-light, haproxy)";
  }

  ca::certificate_authority ca_ = ca::certificate_authority::create();
  // The trust a correct client has, and a root from an unrelated CA: the "wrong root" control.
  harness::trust trust_{ca_.root()};
  harness::trust other_trust_{ca::certificate_authority::create().root()};
  test::temp_dir dir_;

 private:
  std::string program_;
};

}  // namespace tlsfix::interop
