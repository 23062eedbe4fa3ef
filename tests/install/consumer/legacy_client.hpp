#pragma once

#include <string>

// One verified handshake with `host` on 127.0.0.1:`port` by code written the old way (see the .cpp).
bool legacy_https_handshake(const std::string& host, unsigned short port, const std::string& ca_pem,
                            std::string& error);
