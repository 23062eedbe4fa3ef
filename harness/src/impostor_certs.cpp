#include "detail/impostor_certs.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsfix/ca/internal/x509_builder.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::harness::detail {

namespace {

using ca::detail::x509_builder;

// The extensions of an ordinary server leaf, so that each impostor differs in one thing only.
x509_builder& leaf_extensions(x509_builder& builder, const char* key_usage = "critical,digitalSignature") {
  return builder.add(NID_basic_constraints, "critical,CA:FALSE")
      .add(NID_key_usage, key_usage)
      .add(NID_ext_key_usage, "serverAuth")
      .add(NID_subject_key_identifier, "hash");
}

identity_entry from_parts(ca::x509_ptr leaf, EVP_PKEY* key, const ca::certificate_authority& issuer) {
  std::vector<ca::certificate> chain(issuer.chain().begin(), issuer.chain().end());
  return make_identity(ca::certificate::from_native(leaf.get()), key, chain, issuer.root());
}

// A leaf signed by `issuer`, customised by `extra` and signed with `digest`.
template <typename Extra>
identity_entry issued_leaf(const ca::certificate_authority& issuer, EVP_PKEY* key, const std::string& cn,
                           Extra extra, const EVP_MD* digest) {
  auto subject = ca::detail::make_name(cn);
  x509_builder builder(subject.get(), key, issuer.cert().native(), ca::validity::standard());
  extra(builder);
  builder.add(NID_authority_key_identifier, "keyid:always");
  return from_parts(builder.sign(issuer.key().native(), digest), key, issuer);
}

const EVP_MD* issuer_digest(const ca::certificate_authority& issuer) { return ca::detail::digest_for(issuer.key().type()); }

}  // namespace

identity_entry self_signed_leaf(const std::string& host) {
  auto key = ca::private_key::generate();
  auto subject = ca::detail::make_name("");
  x509_builder builder(subject.get(), key, nullptr, ca::validity::standard());
  leaf_extensions(builder).add_subject_alt_names({host});
  auto leaf = ca::certificate::from_native(builder.sign(key).get());
  return make_identity(leaf, key.native(), {}, leaf);
}

identity_entry lookalike_root_leaf(const ca::certificate_authority& trusted, const std::string& host) {
  const ASN1_OCTET_STRING* key_id = X509_get0_subject_key_id(trusted.root().native());
  if (key_id == nullptr) throw tlsfix::error("impostor", "the trusted root has no subject key identifier");
  // The config syntax takes the identifier as colon-separated hex.
  std::string key_id_hex;
  static constexpr char digits[] = "0123456789ABCDEF";
  const unsigned char* bytes = ASN1_STRING_get0_data(key_id);
  for (int i = 0; i < ASN1_STRING_length(key_id); ++i) {
    if (i != 0) key_id_hex += ':';
    key_id_hex += digits[bytes[i] >> 4];
    key_id_hex += digits[bytes[i] & 0xf];
  }

  auto fake_key = ca::private_key::generate();
  x509_builder root_builder(X509_get_subject_name(trusted.root().native()), fake_key, nullptr, ca::validity::standard());
  root_builder.add(NID_basic_constraints, "critical,CA:TRUE")
      .add(NID_key_usage, "critical,keyCertSign,cRLSign")
      .add(NID_subject_key_identifier, key_id_hex.c_str());
  auto fake_root = ca::certificate::from_native(root_builder.sign(fake_key).get());

  auto key = ca::private_key::generate();
  auto subject = ca::detail::make_name("");
  x509_builder builder(subject.get(), key, fake_root.native(), ca::validity::standard());
  leaf_extensions(builder).add(NID_authority_key_identifier, "keyid:always").add_subject_alt_names({host});
  auto leaf = ca::certificate::from_native(builder.sign(fake_key).get());
  return make_identity(leaf, key.native(), {}, fake_root);
}

identity_entry ca_leaf(const ca::certificate_authority& issuer, const std::string& host) {
  auto key = ca::private_key::generate();
  return issued_leaf(issuer, key.native(), "", [&](x509_builder& b) {
    b.add(NID_basic_constraints, "critical,CA:TRUE")
        .add(NID_key_usage, "critical,digitalSignature,keyCertSign")
        .add(NID_ext_key_usage, "serverAuth")
        .add(NID_subject_key_identifier, "hash")
        .add_subject_alt_names({host});
  }, issuer_digest(issuer));
}

identity_entry common_name_only_leaf(const ca::certificate_authority& issuer, const std::string& host) {
  auto key = ca::private_key::generate();
  return issued_leaf(issuer, key.native(), host, [&](x509_builder& b) { leaf_extensions(b); }, issuer_digest(issuer));
}

identity_entry sha1_leaf(const ca::certificate_authority& issuer, const std::string& host) {
  auto key = ca::private_key::generate();
  return issued_leaf(issuer, key.native(), "", [&](x509_builder& b) { leaf_extensions(b).add_subject_alt_names({host}); },
                     EVP_sha1());
}

identity_entry rsa1024_leaf(const ca::certificate_authority& issuer, const std::string& host) {
  ca::evp_pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})};
  if (!key) throw tlsfix::error::from_openssl("EVP_PKEY_Q_keygen", "impostor: generating an RSA-1024 key");
  return issued_leaf(issuer, key.get(), "", [&](x509_builder& b) {
    leaf_extensions(b, "critical,digitalSignature,keyEncipherment").add_subject_alt_names({host});
  }, issuer_digest(issuer));
}

identity_entry unconstrained_leaf(const ca::certificate_authority& issuer, const std::string& host) {
  auto key = ca::private_key::generate();
  return issued_leaf(issuer, key.native(), "", [&](x509_builder& b) { leaf_extensions(b).add_subject_alt_names({host}); },
                     issuer_digest(issuer));
}

identity_entry reversed_chain(const ca::certificate_authority& root, const std::string& host) {
  auto intermediate = root.make_intermediate();
  auto leaf = intermediate.issue(host);
  return make_identity(intermediate.cert(), intermediate.key().native(), {leaf.cert()}, root.root());
}

}  // namespace tlsfix::harness::detail
