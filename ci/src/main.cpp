// Entry point of `tlsfix`; the grammar and the error reporting are in commands.cpp.
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) { return tlsfix::cli::run_command_line({argv + 1, argv + argc}, std::cout, std::cerr); }
