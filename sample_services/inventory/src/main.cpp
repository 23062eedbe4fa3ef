// inventory: see sample/inventory.hpp and sample_services/README.md.
#include <iostream>

#include "sample/command_line.hpp"
#include "sample/inventory.hpp"

int main(int argc, char** argv) {
  CLI::App app{"inventory: items and their stock over HTTPS (no plaintext mode)"};
  sample::service_flags flags;
  sample::add_service_flags(app, flags, "inventory.test.local");
  CLI11_PARSE(app, argc, argv);
  try {
    sample::inventory::service items;
    sample::https_server server(flags.options_for("inventory"), items.http_handler(), std::clog);
    return sample::serve_until_terminated(server, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "inventory: " << e.what() << std::endl;
    return 1;
  }
}
