// The verbs of the `tlsfix` command line as functions: each takes its options as the user typed
// them (flag values are text, so that errors name the flag) and returns what it printed and its exit
// status. CLI11 only parses (ci/src/commands.cpp); everything a verb does lives in its own file
// here, in the tlsfix_cli library, so tests call the verbs in-process.
//
// Exit statuses are the same for every verb:
//   0  success
//   1  usage or input error: bad flags, unreadable or malformed files, refused overwrites; the
//      verb throws `tlsfix::error`, naming the flag, file or spec position at fault
//   2  a check failed: probe could not verify, verify rejected, check-expiry found something,
//      check-client's client accepted an impostor or rejected a control
//   `run` exits with the status of the program it ran (127 when it cannot be started).
//
//   auto result = tlsfix::cli::init({.dir = "tls", .flags = {.services = {"service.test.local"}}});
//   std::cout << result.out;                 // the summary
//   return result.status;                    // 0
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace tlsfix::cli {

enum exit_status : int { success = 0, usage_error = 1, check_failed = 2 };

// What a verb printed (stdout, stderr) and its exit status.
struct verb_result {
  int status = success;
  std::string out;
  std::string err;
};

// Services named on the command line of init and issue.
struct service_flags {
  std::vector<std::string> services, ips, clients;
  std::string key_type = "ecdsa-p256";
  std::optional<std::string> validity;  // default 90d, or less where the root ends sooner
  std::optional<std::string> p12_password;
  // SERVICE=USER and SERVICE=GROUP: whom a service's key files are for (spec: key_owner, key_group).
  std::vector<std::string> key_owners, key_groups;
};

struct init_options {
  std::string dir;
  std::optional<std::string> spec;
  service_flags flags;
  std::vector<std::string> allow_names;
  std::optional<std::string> ca_validity;  // default 365d; not with --spec (whose ca.validity rules)
  bool keep_ca_key = false, force = false, json = false;
};
verb_result init(const init_options& o);

struct issue_options {
  std::string dir;
  service_flags flags;
  bool json = false;
};
verb_result issue(const issue_options& o);

struct env_options {
  std::string dir;
  std::string format = "shell";
};
verb_result env(const env_options& o);

struct run_options {
  std::string dir;
  std::vector<std::string> command;
};
// Replaces this process with the command (execvp); returns only when it cannot be started, with
// status 127 and the reason in `err`.
verb_result run(const run_options& o);

struct probe_options {
  std::string url, ca_file;
  std::optional<std::string> cert_file, key_file;
  std::vector<std::string> resolve, alpn;
  int timeout_seconds = 10;
  bool json = false;
};
verb_result probe(const probe_options& o);

struct verify_options {
  std::string cert, ca_file, name;
  std::string purpose = "server";
  std::optional<std::string> untrusted, at;
  // CERT may be PKCS#12 (DER) instead of PEM; its other certificates serve as untrusted intermediates.
  std::optional<std::string> p12_password;
  bool json = false;
};
verb_result verify(const verify_options& o);

struct check_expiry_options {
  std::string dir, within;
  bool json = false;
};
verb_result check_expiry(const check_expiry_options& o);

// --background and --pid-file, shared by serve and proxy (see serving.hpp).
struct serving_options {
  bool background = false;
  std::optional<std::filesystem::path> pid_file;
};

struct serve_options {
  std::string dir, service;
  std::optional<std::uint16_t> port;
  bool client_auth = false;
  serving_options serving;
};
// Serves until SIGINT or SIGTERM, writing its URL to `out` first (or, with --background, returns
// once the server listens in a child process).
int serve(const serve_options& o, std::ostream& out, std::ostream& err);

struct proxy_options {
  std::string service, to;
  std::optional<std::string> dir, ca_out;
  std::vector<std::string> allow_names;
  std::optional<std::uint16_t> port;
  serving_options serving;
};
int proxy(const proxy_options& o, std::ostream& out, std::ostream& err);

struct trust_options {
  std::string ca;
  std::optional<std::string> nss_db;
  bool system = false, dry_run = false;
  bool any_root = false;  // --dangerously-trust-any-root
};
verb_result trust_install(const trust_options& o);
verb_result trust_uninstall(const trust_options& o);

struct check_client_options {
  std::vector<std::string> command;
  std::string timeout = "10s";
  std::string protocol = "https";  // or "postgres"
  bool policy = false, strict = false, revocation = false, json = false;
};
verb_result check_client(const check_client_options& o);

}  // namespace tlsfix::cli
