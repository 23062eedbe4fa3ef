// Entry point of `tlsfix`: parses the command line with CLI11 and maps failures to exit statuses
// (see cli.hpp). Every error message starts with "tlsfix <verb>:" and names the file or flag.
#include <iostream>
#include <string>

#include "cli.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tlsfix: one throwaway test CA for nginx, HAProxy, curl, databases and services in any language.\n"
               "Example: tlsfix init tls --service service.test.local --ip 127.0.0.1"};
  app.set_version_flag("--version", "tlsfix " + std::string(tlsfix::version()));
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 usage or input error, 2 a check failed; "
             "`run` exits with the status of its program.");
  int status = tlsfix::cli::success;
  tlsfix::cli::add_init(app, status);
  tlsfix::cli::add_issue(app, status);
  tlsfix::cli::add_env(app, status);
  tlsfix::cli::add_run(app, status);
  tlsfix::cli::add_probe(app, status);
  tlsfix::cli::add_verify(app, status);
  tlsfix::cli::add_check_expiry(app, status);
  tlsfix::cli::add_serve(app, status);
  tlsfix::cli::add_proxy(app, status);
  tlsfix::cli::add_trust(app, status);
  tlsfix::cli::add_check_client(app, status);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 has a code per parse error (105, 106, ...); one documented status is easier to script.
    app.exit(e);
    return tlsfix::cli::usage_error;
  } catch (const std::exception& e) {
    std::string verb = app.get_subcommands().empty() ? "" : " " + app.get_subcommands().front()->get_name();
    std::cerr << "tlsfix" << verb << ": " << e.what() << '\n';
    return tlsfix::cli::usage_error;
  }
  return status;
}
