// Certificates, chains, CRLs and private keys from PEM or DER: what `verify`, `probe --ca`,
// `issue --key` and the library's from_pem/from_der read from users' files. Only tlsfix::error
// may come out.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "only_tlsfix_errors.hpp"
#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/ca/crl.hpp"
#include "tlsfix/ca/private_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace tlsfix::ca;
  expect_only_tlsfix_errors([&] {
    auto cert = certificate::from_pem(text);
    (void)cert.subject_alt_names();
    (void)cert.name_constraints();
    (void)cert.subject();
  });
  expect_only_tlsfix_errors([&] { (void)certificate::chain_from_pem(text); });
  expect_only_tlsfix_errors([&] {
    auto cert = certificate::from_der(text);
    (void)cert.subject_alt_names();
    (void)cert.name_constraints();
  });
  expect_only_tlsfix_errors([&] { (void)crl::from_pem(text); });
  expect_only_tlsfix_errors([&] { (void)crl::from_der(text); });
  expect_only_tlsfix_errors([&] { (void)private_key::from_pem(text, "fuzz"); });
  return 0;
}
