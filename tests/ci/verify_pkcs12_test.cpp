// `tlsfix verify` of a PKCS#12 file: the leaf verifies with the file's own chain as intermediates,
// and fails for the wrong CA and the wrong name; without the password, or with the wrong one, the
// verb says which.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tlsfix/ca.hpp>

#include "cli_support.hpp"
#include "error_text.hpp"
#include "verbs.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using tlsfix::test::error_from;

class VerifyPkcs12Test : public ::testing::Test {
 protected:
  test::temp_dir tmp_;
  ca::certificate_authority root_ = ca::certificate_authority::create();
  ca::issued_cert leaf_ = root_.make_intermediate().issue("service.test.local");
  std::string p12_ = write("service.p12", leaf_.pkcs12("s3cret"));
  std::string ca_ = write("ca.crt", root_.root().to_pem());

  std::string write(const std::string& name, const std::string& contents) {
    ca::write_file(tmp_ / name, contents, ca::file_mode::secret);
    return (tmp_ / name).string();
  }
  cli::verify_options options(std::string cert, std::optional<std::string> password = "s3cret") const {
    return {.cert = std::move(cert), .ca_file = ca_, .name = "service.test.local", .p12_password = std::move(password)};
  }
};

TEST_F(VerifyPkcs12Test, VerifiesWithTheFilesOwnIntermediates) {
  auto r = cli::verify(options(p12_));
  EXPECT_EQ(r.status, cli::success) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr(p12_ + ": OK"), HasSubstr("DNS:service.test.local")));

  auto without = cli::verify(options(write("leaf-only.p12", leaf_.without_intermediates().pkcs12("s3cret"))));
  EXPECT_EQ(without.status, cli::check_failed) << "negative control: the intermediate came from the file";
  EXPECT_THAT(without.err, HasSubstr("unable to get local issuer certificate"));
}

TEST_F(VerifyPkcs12Test, FailsForTheWrongCaAndTheWrongName) {
  auto stranger = write("other-ca.crt", ca::certificate_authority::create().root().to_pem());
  auto o = options(p12_);
  o.ca_file = stranger;
  auto wrong_ca = cli::verify(o);
  EXPECT_EQ(wrong_ca.status, cli::check_failed);
  EXPECT_THAT(wrong_ca.err, HasSubstr("unable to get local issuer certificate"));

  o = options(p12_);
  o.name = "other.test.local";
  auto wrong_name = cli::verify(o);
  EXPECT_EQ(wrong_name.status, cli::check_failed);
  EXPECT_THAT(wrong_name.err, HasSubstr("hostname mismatch"));
}

TEST_F(VerifyPkcs12Test, SaysWhatIsWrongWithThePassword) {
  EXPECT_EQ(error_from([&] { cli::verify(options(p12_, std::nullopt)); }), p12_ + ": is PKCS#12: give --p12-password");
  EXPECT_EQ(error_from([&] { cli::verify(options(p12_, "wrong")); }), p12_ + ": wrong password (the MAC does not verify)");
  auto pem = write("fullchain.pem", leaf_.fullchain_pem());
  EXPECT_EQ(error_from([&] { cli::verify(options(pem)); }),
            "--p12-password: '" + pem + "' is PEM, not PKCS#12; leave the flag out");
  EXPECT_EQ(cli::verify(options(pem, std::nullopt)).status, cli::success) << "PEM without the flag, as before";
}

TEST_F(VerifyPkcs12Test, ReportsADamagedFileAsPkcs12) {
  std::string der = leaf_.pkcs12("s3cret");
  auto cut = write("cut.p12", der.substr(0, der.size() - 10));
  EXPECT_EQ(error_from([&] { cli::verify(options(cut)); }).rfind(cut + ": is truncated: it ends inside the PKCS#12 structure", 0), 0u)
      << error_from([&] { cli::verify(options(cut)); });
}

}  // namespace
