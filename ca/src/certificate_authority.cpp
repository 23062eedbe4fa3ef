#include "tlsfix/ca/certificate_authority.hpp"

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mutex>
#include <ostream>

#include "detail/crl_builder.hpp"
#include "detail/names.hpp"
#include "detail/time.hpp"
#include "tlsfix/ca/internal/x509_builder.hpp"
#include "detail/openssl_errors.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

struct certificate_authority::state {
  state(certificate c, private_key k, certificate r, std::vector<certificate> above,
        std::vector<std::vector<name_range>> limits)
      : cert(std::move(c)), key(std::move(k)), root(std::move(r)), chain(std::move(above)),
        constraints(std::move(limits)) {}

  certificate cert;
  private_key key;
  certificate root;
  std::vector<certificate> chain;  // this CA and those above it, root excluded
  // Every name constraint on the way up to the root; an issued name must satisfy each one.
  std::vector<std::vector<name_range>> constraints;

  std::mutex mutex;  // guards what follows
  std::vector<std::pair<std::string, clock::time_point>> revoked;  // serial (hex), when
  long crl_number = 0;
};

namespace {

void check_validity(const validity& v, const std::string& field) {
  if (v.not_after <= v.not_before)
    throw error(field, "not_after (" + to_iso8601(v.not_after) + ") is not after not_before (" +
                to_iso8601(v.not_before) + ")");
}

void check_common_name(const std::optional<std::string>& cn, const std::string& field) {
  // 64 is the upper bound X.520 sets for a common name.
  if (cn && (cn->empty() || cn->size() > 64))
    throw error(field, "'" + *cn + "' must be 1 to 64 characters long");
}

private_key key_for(const std::variant<key_type, private_key>& choice) {
  if (const auto* existing = std::get_if<private_key>(&choice)) return *existing;
  return private_key::generate(std::get<key_type>(choice));
}

// ECDSA and Ed25519 keys only sign; RSA keys may also be used for (TLS 1.2 RSA) key transport.
const char* leaf_key_usage(key_type type) {
  switch (type) {
    case key_type::rsa_2048:
    case key_type::rsa_3072:
    case key_type::rsa_4096: return "critical,digitalSignature,keyEncipherment";
    default: return "critical,digitalSignature";
  }
}

const char* extended_key_usage(usage u) {
  switch (u) {
    case usage::server: return "serverAuth";
    case usage::client: return "clientAuth";
    case usage::server_and_client: return "serverAuth,clientAuth";
  }
  return "serverAuth";
}

std::string describe(const std::vector<name_range>& permitted) {
  std::string out;
  for (const auto& entry : permitted) out += (out.empty() ? "" : ", ") + entry.text;
  return out;
}

}  // namespace

certificate_authority certificate_authority::create(const ca_options& options) {
  check_validity(options.validity, "ca_options.validity");
  check_common_name(options.common_name, "ca_options.common_name");
  std::vector<name_range> permitted;
  if (!options.unconstrained) {
    for (const auto& name : default_permitted_names()) permitted.push_back(parse_name_range(name, "default"));
    for (size_t i = 0; i < options.permitted_names.size(); ++i)
      permitted.push_back(parse_name_range(options.permitted_names[i],
                                                "ca_options.permitted_names[" + std::to_string(i) + "]"));
  } else if (!options.permitted_names.empty()) {
    throw error("ca_options.permitted_names", "must be empty when unconstrained is set");
  }

  auto key = private_key::generate(options.key);
  auto subject = detail::make_name(options.common_name.value_or("tlsfix test CA " + detail::random_hex(8)));
  detail::x509_builder builder(subject.get(), key, nullptr, options.validity);
  builder.add(NID_basic_constraints, "critical,CA:TRUE")
      .add(NID_key_usage, "critical,keyCertSign,cRLSign")
      .add(NID_subject_key_identifier, "hash");
  if (!options.unconstrained) {
    auto constraints = detail::to_name_constraints(permitted);
    builder.add_i2d(NID_name_constraints, constraints.get(), true);
  }
  auto cert = certificate::from_native(builder.sign(key).get());

  std::vector<std::vector<name_range>> constraints;
  if (!options.unconstrained) constraints.push_back(std::move(permitted));
  return certificate_authority(std::make_shared<state>(cert, key, cert, std::vector<certificate>{}, std::move(constraints)));
}

certificate_authority certificate_authority::load(std::string_view cert_pem, std::string_view key_pem,
                                                  std::string_view passphrase, std::string_view chain_pem) {
  auto cert = certificate::from_pem(cert_pem, "CA certificate");
  auto key = private_key::from_pem(key_pem, passphrase, "CA key");
  if (X509_check_private_key(cert.native(), key.native()) != 1) {
    detail::drain_openssl_errors();
    throw error("CA key", "does not match the CA certificate '" + cert.subject() + "'");
  }
  if (X509_check_ca(cert.native()) == 0 || (X509_get_key_usage(cert.native()) & KU_KEY_CERT_SIGN) == 0)
    throw error("CA certificate", "'" + cert.subject() + "' is not a CA (no CA:TRUE or no keyCertSign)");

  std::vector<certificate> above;
  if (!chain_pem.empty()) above = certificate::chain_from_pem(chain_pem, "CA chain");
  std::vector<certificate> path{cert};
  path.insert(path.end(), above.begin(), above.end());
  for (size_t i = 0; i + 1 < path.size(); ++i)
    if (X509_check_issued(path[i + 1].native(), path[i].native()) != X509_V_OK)
      throw error("CA chain", "'" + path[i + 1].subject() + "' did not issue '" + path[i].subject() + "'");
  if (!path.back().is_self_signed())
    throw error("CA chain", "ends at '" + path.back().subject() + "', which is not a self-signed root");

  std::vector<std::vector<name_range>> constraints;
  for (const auto& c : path) {
    bool constrained = false;
    auto permitted = detail::permitted_ranges(c.native(), constrained);
    if (constrained) constraints.push_back(std::move(permitted));
  }
  return certificate_authority(std::make_shared<state>(cert, key, path.back(),
                                                       std::vector<certificate>(path.begin(), path.end() - 1),
                                                       std::move(constraints)));
}

issued_cert certificate_authority::issue(std::string_view name) const {
  return issue(cert_request{.names = {std::string(name)}});
}

issued_cert certificate_authority::issue(const cert_request& request) const {
  if (request.names.empty()) throw error("cert_request.names", "at least one name is required");
  check_validity(request.validity, "cert_request.validity");
  check_common_name(request.common_name, "cert_request.common_name");

  for (size_t i = 0; i < request.names.size(); ++i) {
    std::string field = "cert_request.names[" + std::to_string(i) + "]";
    auto name = parse_name(request.names[i], field);
    for (const auto& permitted : state_->constraints)
      if (!permits(permitted, name))
        throw error(field, "'" + request.names[i] + "' is outside the name constraints of this CA (permitted: " +
                    describe(permitted) + "); add it to ca_options.permitted_names");
  }

  auto key = key_for(request.key);
  auto subject = detail::make_name(request.common_name.value_or(""));
  detail::x509_builder builder(subject.get(), key, state_->cert.native(), request.validity);
  builder.add(NID_basic_constraints, "critical,CA:FALSE")
      .add(NID_key_usage, leaf_key_usage(key.type()))
      .add(NID_ext_key_usage, extended_key_usage(request.usage))
      .add(NID_subject_key_identifier, "hash")
      .add(NID_authority_key_identifier, "keyid:always")
      .add_subject_alt_names(request.names);
  auto leaf = certificate::from_native(builder.sign(state_->key).get());

  std::vector<certificate> chain{leaf};
  chain.insert(chain.end(), state_->chain.begin(), state_->chain.end());
  return issued_cert(std::move(chain), std::move(key), state_->root);
}

certificate_authority certificate_authority::make_intermediate(const intermediate_options& options) const {
  check_validity(options.validity, "intermediate_options.validity");
  check_common_name(options.common_name, "intermediate_options.common_name");
  long parent_limit = X509_get_pathlen(state_->cert.native());  // -1: unlimited
  if (parent_limit == 0)
    throw error("make_intermediate", "'" + state_->cert.subject() + "' has path length 0 and cannot sign another CA");
  if (options.path_length && (*options.path_length < 0 || (parent_limit > 0 && *options.path_length >= parent_limit)))
    throw error("intermediate_options.path_length", std::to_string(*options.path_length) +
                " is not allowed below a CA with path length " + std::to_string(parent_limit));
  // -1 means no pathlen field: the intermediate may have any number of CAs below it.
  long length = options.path_length ? *options.path_length : parent_limit > 0 ? parent_limit - 1 : -1;

  auto key = private_key::generate(options.key);
  auto subject = detail::make_name(options.common_name.value_or("tlsfix test intermediate " + detail::random_hex(8)));
  std::string basic = "critical,CA:TRUE";
  if (length >= 0) basic.append(",pathlen:").append(std::to_string(length));
  detail::x509_builder builder(subject.get(), key, state_->cert.native(), options.validity);
  builder.add(NID_basic_constraints, basic.c_str())
      .add(NID_key_usage, "critical,keyCertSign,cRLSign")
      .add(NID_subject_key_identifier, "hash")
      .add(NID_authority_key_identifier, "keyid:always");
  auto cert = certificate::from_native(builder.sign(state_->key).get());

  std::vector<certificate> chain{cert};
  chain.insert(chain.end(), state_->chain.begin(), state_->chain.end());
  return certificate_authority(std::make_shared<state>(cert, key, state_->root, std::move(chain), state_->constraints));
}

void certificate_authority::revoke(const certificate& cert) {
  if (X509_check_issued(state_->cert.native(), cert.native()) != X509_V_OK)
    throw error("revoke", "'" + cert.subject() + "' (serial " + cert.serial_hex() + ") was not issued by '" +
                state_->cert.subject() + "'");
  std::lock_guard lock(state_->mutex);
  for (const auto& entry : state_->revoked)
    if (entry.first == cert.serial_hex()) return;
  state_->revoked.emplace_back(cert.serial_hex(), clock::now());
}

ca::crl certificate_authority::crl() const {
  std::vector<std::pair<std::string, clock::time_point>> revoked;
  long number = 0;
  {
    std::lock_guard lock(state_->mutex);
    revoked = state_->revoked;
    number = ++state_->crl_number;
  }
  return detail::make_crl(state_->cert, state_->key, revoked, number);
}

const certificate& certificate_authority::cert() const noexcept { return state_->cert; }
const certificate& certificate_authority::root() const noexcept { return state_->root; }
const std::vector<certificate>& certificate_authority::chain() const noexcept { return state_->chain; }
const private_key& certificate_authority::key() const noexcept { return state_->key; }

std::ostream& operator<<(std::ostream& out, const certificate_authority& ca) {
  out << "certificate_authority '" << ca.cert().subject() << "'";
  if (!ca.chain().empty()) out << " under root '" << ca.root().subject() << "'";
  return out;
}

}  // namespace tlsfix::ca
