// The command line's grammar: CLI11 subcommands whose callbacks only keep the parsed flags as a
// verb's options (verbs.hpp). Nothing here runs a verb. Every verb's help ends with an example.
#include "grammar.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <type_traits>

#include "tlsfix/version.hpp"

namespace tlsfix::cli {

namespace {

// The subcommand's callback, which CLI11 calls once the whole line has parsed: it keeps what was
// parsed, and the verb runs later, outside CLI11 (run_command_line).
template <typename Options>
std::function<void()> choosing(std::optional<command>& chosen, const char* verb, std::shared_ptr<Options> o) {
  return [&chosen, verb, o] { chosen = command{verb, *o}; };
}

// A path given as "" (an unset shell variable, most often) is refused by name, before a verb turns
// it into the current directory or a puzzling filesystem error.
const CLI::Validator not_empty{[](const std::string& value) { return value.empty() ? std::string("is empty: give a path") : std::string(); },
                               "", "not empty"};

void add_service_flags(CLI::App* cmd, service_flags& f) {
  cmd->add_option("--service", f.services, "A service to issue a server certificate for (repeatable)");
  cmd->add_option("--ip", f.ips, "An IP address added to every --service certificate (repeatable)");
  cmd->add_option("--client", f.clients,
                  "An mTLS client identity (clientAuth only), trusted by every service (repeatable); a test name "
                  "such as alice.test.local");
  cmd->add_option("--key-type", f.key_type, "ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096")
      ->capture_default_str();
  cmd->add_option("--validity", f.validity, "How long certificates from flags last: 90d, 12h, P30D (default 90d, or until the root ends if sooner)");
  cmd->add_option("--p12-password", f.p12_password, "Also write <service>/service.p12 encrypted with this password");
  cmd->add_option("--key-owner", f.key_owners,
                  "For a server running as USER (PostgreSQL, a container): SERVICE's key.pem, service.pem, "
                  "service.p12 and directory owned by USER (name or uid), keys still 0600; needs root (repeatable)")
      ->type_name("SERVICE=USER");
  cmd->add_option("--key-group", f.key_groups,
                  "SERVICE's key files readable by GROUP (name or gid): keys 0640, directory 0750 (repeatable)")
      ->type_name("SERVICE=GROUP");
}

void add_serving_flags(CLI::App* cmd, serving_options& o) {
  cmd->add_flag("--background", o.background, "Return once listening, printing only the URL; the server runs on until SIGTERM");
  cmd->add_option("--pid-file", o.pid_file, "Write the server's process id here once it listens (removed when it stops)")->check(not_empty);
}

void add_init(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<init_options>();
  auto* cmd = app.add_subcommand("init", "Make a fresh CA and certificates for services, with files for nginx, HAProxy, "
                                         "Kubernetes, shells and CI");
  cmd->footer("Example:\n  tlsfix init tls --service service.test.local --ip 127.0.0.1 --client worker.test.local\n"
              "  tlsfix init tls --spec topology.yaml --keep-ca-key\n"
              "  sudo tlsfix init /etc/tlsfix --service db.test.local --key-owner db.test.local=postgres\n"
              "A spec says the same per service with key_owner: USER and key_group: GROUP. The top directory stays\n"
              "0700 unless a key is for another user: then 0711 (0710 with the group when all such keys name only\n"
              "one and the same group), so the server can pass through; directories above DIR must let it pass too.");
  cmd->add_option("DIR", o->dir, "Directory to create (mode 0700)")->required()->check(not_empty);
  cmd->add_option("--spec", o->spec, "Topology file, YAML or JSON (services, names, IPs, mTLS clients, key types, validity)")->check(not_empty);
  add_service_flags(cmd, o->flags);
  cmd->add_option("--allow-name", o->allow_names, "Let the CA vouch for a name outside the test domains: a DNS suffix or CIDR");
  cmd->add_option("--ca-validity", o->ca_validity, "How long the root lasts (default 365d; a spec says it in ca.validity)");
  cmd->add_flag("--keep-ca-key", o->keep_ca_key, "Keep ca.key (0600) so that `issue` can sign later");
  cmd->add_flag("--force", o->force, "Replace an existing tlsfix directory");
  cmd->add_flag("--json", o->json, "Print manifest.json instead of a summary");
  cmd->callback(choosing(chosen, "init", o));
}

void add_issue(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<issue_options>();
  auto* cmd = app.add_subcommand("issue", "Add services to a directory made with `init --keep-ca-key`");
  cmd->footer("Example:\n  tlsfix init tls --service api.test.local --keep-ca-key\n"
              "  tlsfix issue tls --service db.test.local --ip 127.0.0.1");
  cmd->add_option("DIR", o->dir, "A tlsfix directory holding ca.key")->required()->check(not_empty);
  add_service_flags(cmd, o->flags);
  cmd->add_flag("--json", o->json, "Print the new manifest entries as JSON");
  cmd->callback(choosing(chosen, "issue", o));
}

void add_env(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<env_options>();
  auto* cmd = app.add_subcommand("env", "Print environment variables that make clients trust the directory's CA");
  cmd->footer("Example:\n  eval \"$(tlsfix env tls)\"\n  tlsfix env tls --format github >> \"$GITHUB_ENV\"");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required()->check(not_empty);
  cmd->add_option("--format", o->format, "shell, github ($GITHUB_ENV), dotenv or json")->capture_default_str();
  cmd->callback(choosing(chosen, "env", o));
}

void add_run(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand("run", "Run a program that trusts the directory's CA and resolves its names to loopback");
  cmd->footer("Example:\n  tlsfix run tls -- curl https://service.test.local:8443/\n"
              "Exits with the program's status (127 when it cannot be started).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required()->check(not_empty);
  cmd->add_option("CMD", o->command, "The program and its arguments, after --")->required();
  cmd->callback(choosing(chosen, "run", o));
}

void add_probe(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<probe_options>();
  auto* cmd = app.add_subcommand("probe", "Connect to a TLS server, verify it strictly and print what it negotiated");
  cmd->footer("Example:\n  tlsfix probe https://service.test.local:8443/ --ca tls/ca.crt --resolve service.test.local:8443:127.0.0.1\n"
              "  tlsfix probe https://api.test.local:8443/ --ca tls/ca.crt --cert tls/worker.test.local/fullchain.pem \\\n"
              "      --key tls/worker.test.local/key.pem\n"
              "Exit status 2 when the server cannot be verified; the reason is printed.");
  cmd->add_option("URL", o->url, "https://NAME[:PORT]/")->required();
  cmd->add_option("--ca", o->ca_file, "The roots to trust (PEM); nothing else is trusted")->required()->check(not_empty);
  cmd->add_option("--resolve", o->resolve, "NAME:PORT:ADDR as curl takes it; ADDR must be loopback (repeatable)");
  cmd->add_option("--cert", o->cert_file, "Client certificate for mTLS (PEM, leaf first: fullchain.pem); needs --key")->check(not_empty);
  cmd->add_option("--key", o->key_file, "The client certificate's key (PEM); needs --cert")->check(not_empty);
  cmd->add_option("--alpn", o->alpn, "Offer this ALPN protocol (repeatable)");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds before giving up")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  cmd->callback(choosing(chosen, "probe", o));
}

void add_verify(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<verify_options>();
  auto* cmd = app.add_subcommand("verify", "Verify a certificate offline: chain, name (SAN only), purpose and time");
  cmd->footer("Example:\n  tlsfix verify --ca tls/ca.crt --name service.test.local tls/service.test.local/fullchain.pem\n"
              "  tlsfix verify --ca tls/ca.crt --name service.test.local --at 2030-01-01T00:00:00Z tls/service.test.local/cert.pem\n"
              "  tlsfix verify --ca tls/ca.crt --name service.test.local --p12-password s3cret tls/service.test.local/service.p12\n"
              "CERT may hold a whole chain, leaf first. Exit status 2 when verification fails.");
  cmd->add_option("CERT", o->cert, "The certificate (PEM), optionally followed by its intermediates; or PKCS#12 with --p12-password")
      ->required()
      ->check(not_empty);
  cmd->add_option("--ca", o->ca_file, "The roots to trust (PEM)")->required()->check(not_empty);
  cmd->add_option("--untrusted", o->untrusted, "Intermediates (PEM) the peer would send")->check(not_empty);
  cmd->add_option("--name", o->name, "The DNS name or IP address the certificate must carry (empty for --purpose client)");
  cmd->add_option("--purpose", o->purpose, "server or client")->capture_default_str();
  cmd->add_option("--at", o->at, "Verify as of this ISO-8601 time instead of now");
  cmd->add_option("--p12-password", o->p12_password, "CERT is PKCS#12 (.p12, .pfx) encrypted with this password; its chain is used");
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  cmd->callback(choosing(chosen, "verify", o));
}

void add_check_expiry(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<check_expiry_options>();
  auto* cmd = app.add_subcommand("check-expiry", "Fail when a certificate in the directory expires soon");
  cmd->footer("Example:\n  tlsfix check-expiry tls --within 7d\nExit status 2 (and a list) when anything expires within the window.");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required()->check(not_empty);
  cmd->add_option("--within", o->within, "The window: 7d, 12h, 30m, P14D")->required();
  cmd->add_flag("--json", o->json, "Print every certificate with its expiry as JSON");
  cmd->callback(choosing(chosen, "check-expiry", o));
}

void add_serve(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand("serve", "Serve HTTPS for a directory's service on loopback until SIGINT/SIGTERM");
  cmd->footer("Example:\n  tlsfix init tls --service app.test.local --client worker.test.local\n"
              "  url=$(tlsfix serve tls --service app.test.local --client-auth --background --pid-file serve.pid)\n"
              "  tlsfix probe \"$url\" --ca tls/ca.crt --cert tls/worker.test.local/fullchain.pem \\\n"
              "      --key tls/worker.test.local/key.pem\n"
              "  kill \"$(cat serve.pid)\"\n"
              "Prints the URL it serves (on --port, or any free one), with the certificate `init` wrote "
              "(fullchain.pem, key.pem).");
  cmd->add_option("DIR", o->dir, "A tlsfix directory")->required()->check(not_empty);
  cmd->add_option("--service", o->service, "The service to serve")->required();
  cmd->add_option("--port", o->port, "Loopback port (default: any free port)");
  cmd->add_flag("--client-auth", o->client_auth, "Require a client certificate from the directory's CA (mTLS)");
  add_serving_flags(cmd, o->serving);
  cmd->callback(choosing(chosen, "serve", o));
}

void add_proxy(CLI::App& app, std::optional<command>& chosen) {
  auto o = std::make_shared<proxy_options>();
  auto* cmd = app.add_subcommand("proxy", "HTTPS by name in front of a plaintext dev server on loopback");
  cmd->footer("Example:\n  tlsfix proxy --service app.test.local --to 127.0.0.1:8080 --port 8443 --ca-out app-ca.crt\n"
              "  curl --cacert app-ca.crt --resolve app.test.local:8443:127.0.0.1 https://app.test.local:8443/\n"
              "Without --dir a fresh CA is made for this run; its root goes to --ca-out (or a temporary file, printed).");
  cmd->add_option("--service", o->service, "The name clients dial")->required();
  cmd->add_option("--to", o->to, "The plaintext upstream, ADDRESS:PORT on loopback")->required();
  cmd->add_option("--port", o->port, "Loopback port (default: any free port)");
  cmd->add_option("--dir", o->dir, "Serve this tlsfix directory's certificate for --service instead of a fresh CA's")->check(not_empty);
  cmd->add_option("--ca-out", o->ca_out, "Write the fresh root here (never overwritten; not with --dir)")->check(not_empty);
  cmd->add_option("--allow-name", o->allow_names, "Let the fresh CA vouch for a name outside the test domains (not with --dir)");
  add_serving_flags(cmd, o->serving);
  cmd->callback(choosing(chosen, "proxy", o));
}

template <typename Options>
void add_trust_verb(CLI::App* trust, std::optional<command>& chosen) {
  constexpr bool install = std::is_same_v<Options, trust_install_options>;
  auto o = std::make_shared<Options>();
  auto* cmd = trust->add_subcommand(install ? "install" : "uninstall",
                                    install ? "Trust a tlsfix root in an NSS database or the system store"
                                            : "Remove a root that `trust install` added");
  cmd->footer(install ? "Example:\n  tlsfix trust install --ca tls/ca.crt --nss-db ~/.pki/nssdb\n"
                        "  tlsfix trust install --ca tls/ca.crt --system --dry-run"
                      : "Example:\n  tlsfix trust uninstall --ca tls/ca.crt --nss-db ~/.pki/nssdb");
  cmd->add_option("--ca", o->ca, "The root (PEM), or a tlsfix directory")->required()->check(not_empty);
  cmd->add_option("--nss-db", o->nss_db, "NSS database directory (certutil, libnss3-tools)")->check(not_empty);
  cmd->add_flag("--system", o->system, "The system store: /usr/local/share/ca-certificates + update-ca-certificates");
  cmd->add_flag("--dry-run", o->dry_run, "Print what would be done, change nothing");
  if (install)
    cmd->add_flag("--dangerously-trust-any-root", o->any_root,
                  "Also install a root that is not a name-constrained tlsfix root (it could vouch for any site)");
  cmd->callback(choosing(chosen, "trust", o));
}

void add_trust(CLI::App& app, std::optional<command>& chosen) {
  auto* trust = app.add_subcommand("trust", "Install or remove a tlsfix root in a trust store, explicitly");
  trust->footer("Example:\n  tlsfix trust install --ca tls/ca.crt --nss-db ~/.pki/nssdb\n"
                "  tlsfix trust uninstall --ca tls/ca.crt --nss-db ~/.pki/nssdb");
  trust->require_subcommand(1);
  add_trust_verb<trust_install_options>(trust, chosen);
  add_trust_verb<trust_uninstall_options>(trust, chosen);
}

void add_check_client(CLI::App& app, std::optional<command>& chosen, std::string_view catalog_help) {
  auto o = std::make_shared<check_client_options>();
  auto* cmd = app.add_subcommand("check-client", "Hold a TLS client to the impostor catalog: it must reject every impostor");
  cmd->footer(
      "Example:\n"
      "  tlsfix check-client -- curl -sS --cacert {ca} --capath /dev/null {url}\n"
      "  tlsfix check-client --json -- python3 my_client.py {url}\n"
      "  tlsfix check-client --protocol postgres -- psql \"host={host} port={port} sslmode=verify-full sslrootcert={ca} user=u dbname=d\"\n"
      "The command runs once per entry (expired, wrong-host, self-signed, ..., and positive controls such as\n"
      "good, ecdsa-p384 and ed25519); exit status 0 means it connected. It passes only if it rejects every\n"
      "forged server and accepts every control. Weak-policy entries (TLS 1.0/1.1, RSA-1024, SHA-1, a\n"
      "clientAuth-only certificate) are always run and reported, and fail the check only with --policy.\n"
      "Entries only strict verifiers or CRL-loading clients reject are skipped unless --strict or\n"
      "--revocation asks for them.\n"
      "Placeholders in its arguments:\n"
      "  {url}   https://HOST:PORT/ of the entry     {host}  the name (or IP address) to dial\n"
      "  {port}  the entry's port on 127.0.0.1       {ca}    the root to trust (PEM), and only it\n"
      "  {crl}   the CRL of every CA in every chain (for --revocation)\n"
      "What the command sees (as root, or where unprivileged user namespaces are allowed, in a private\n"
      "mount namespace; the report's last line says which):\n"
      "  /etc/hosts, nsswitch.conf        every catalog name on 127.0.0.1, for any resolver (static Go too)\n"
      "  /etc/resolv.conf                 DNS on 127.0.0.1 only: no lookup leaves the machine\n"
      "  /etc/ssl/certs                   a DECOY system store (the update-ca-certificates bundle, OpenSSL's\n"
      "                                   and GnuTLS's defaults, curl's compiled-in path): trusting it is caught\n"
      "  SSL_CERT_FILE, SSL_CERT_DIR      the decoy too\n"
      "  TLSFIX_CA_FILE, TLSFIX_CRL_FILE  {ca} and {crl}\n"
      "  TLSFIX_RESOLVE                   HOST:PORT:127.0.0.1 (curl --resolve form)\n"
      "Without a private mount namespace (or with TLSFIX_PRIVATE_MOUNTS=0), names come from nss_wrapper\n"
      "(LD_PRELOAD, NSS_WRAPPER_HOSTS) and the decoy from the two variables only; the run warns.\n"
      "Exit status: 0 the client passed, 2 it failed an entry, 1 usage error or a command that cannot be started.\n" +
      std::string(catalog_help));
  cmd->add_option("CMD", o->command, "The client and its arguments, after --")->required();
  cmd->add_option("--timeout", o->timeout, "Per entry, e.g. 10s; a command still running then is killed and counts as rejecting")
      ->capture_default_str();
  cmd->add_option("--protocol", o->protocol,
                  "https, or postgres: the SSLRequest before TLS, for libpq and psql ({url} is postgresql://HOST:PORT/)")
      ->capture_default_str();
  cmd->add_flag("--policy", o->policy, "Also fail on weak policy: TLS 1.0/1.1, RSA-1024, SHA-1, clientAuth-only certificates");
  cmd->add_flag("--strict", o->strict, "Also require what only strict verifiers reject (e.g. a leaf that says CA:TRUE)");
  cmd->add_flag("--revocation", o->revocation, "Also require rejecting the revoked entry (the client must load {crl})");
  cmd->add_flag("--json", o->json, "Print the report as JSON (rows, passed, failures, weaknesses, decoy_stores, names)");
  cmd->callback(choosing(chosen, "check-client", o));
}

void add_commands(CLI::App& app, std::optional<command>& chosen, std::string_view catalog_help) {
  add_init(app, chosen);
  add_issue(app, chosen);
  add_env(app, chosen);
  add_run(app, chosen);
  add_probe(app, chosen);
  add_verify(app, chosen);
  add_check_expiry(app, chosen);
  add_serve(app, chosen);
  add_proxy(app, chosen);
  add_trust(app, chosen);
  add_check_client(app, chosen, catalog_help);
}

}  // namespace

std::variant<command, int> parse_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                                              std::string_view catalog_help) {
  CLI::App app{"tlsfix: one throwaway test CA for nginx, HAProxy, curl, databases and services in any language.\n"
               "Example: tlsfix init tls --service service.test.local --ip 127.0.0.1"};
  app.set_version_flag("--version", "tlsfix " + std::string(tlsfix::version()));
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 usage or input error, 2 a check failed; "
             "`run` exits with the status of its program.");
  std::optional<command> chosen;
  add_commands(app, chosen, catalog_help);

  std::vector<std::string> words{"tlsfix"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    // CLI11 has a code per parse error (105, 106, ...); one documented status is easier to script.
    app.exit(e, out, err);
    return usage_error;
  }
  if (!chosen) {  // require_subcommand makes this unreachable; the fuzz target holds it to that
    err << "tlsfix: give a verb; see tlsfix --help\n";
    return usage_error;
  }
  return std::move(*chosen);
}

}  // namespace tlsfix::cli
