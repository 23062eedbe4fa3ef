// Runs a fuzz target over files without libFuzzer: each argument is a file or a directory of
// files (the corpus, the regressions). An input that crashes fails the run, with its name printed
// first; a target that throws anything but what it catches itself aborts the same way.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    } else {
      inputs.push_back(arg);
    }
  }
  for (const auto& input : inputs) {
    std::cerr << input.string() << std::endl;  // before the call: a crash leaves the culprit's name last
    std::ifstream in(input, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::cerr << inputs.size() << " inputs, no crash" << std::endl;
  return inputs.empty() ? 1 : 0;
}
