// orders: see sample/orders.hpp and sample_services/README.md.
#include <iostream>

#include "sample/command_line.hpp"
#include "sample/orders.hpp"

int main(int argc, char** argv) {
  CLI::App app{"orders: places orders over mutual TLS, checks stock with inventory, stores them in PostgreSQL (no plaintext mode)"};
  sample::service_flags flags;
  sample::add_service_flags(app, flags, "orders.test.local");
  sample::orders::options o;
  app.add_option("--inventory-url", o.inventory.base_url, "https://inventory.test.local:PORT")->envname("ORDERS_INVENTORY_URL")->required();
  app.add_option("--client-cert", o.inventory.cert, "orders' certificate chain towards inventory")
      ->envname(sample::tlsfix_env("orders.test.local", "FULLCHAIN"));
  app.add_option("--client-key", o.inventory.key, "its private key")->envname(sample::tlsfix_env("orders.test.local", "KEY"));
  app.add_option("--db", o.db, "libpq connection string, e.g. 'host=postgres.test.local port=5432 dbname=postgres user=orders'")
      ->envname("ORDERS_DB")
      ->required();
  CLI11_PARSE(app, argc, argv);
  try {
    o.inventory.ca = o.ca = flags.tls.ca;
    if (flags.tls.ca.empty()) throw std::runtime_error("--ca is required: this service has no plaintext mode");
    auto server_options = flags.options_for("orders");
    server_options.clients = sample::client_auth::required;
    sample::orders::service orders(o);
    sample::https_server server(server_options, orders.http_handler(), std::clog);
    return sample::serve_until_terminated(server, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "orders: " << e.what() << std::endl;
    return 1;
  }
}
