// Key hygiene, checked on disk after real runs of the binary: a private key is only ever at a path
// the manifest lists as a key, 0600 from the moment it exists, whatever the umask; nothing goes to
// $TMPDIR; and a write that fails part way leaves no partial file and no key behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <sys/stat.h>

#include <tlsfix/ca.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <set>

#include "cli_support.hpp"

namespace {

using namespace tlsfix;
using namespace tlsfix::cli_test;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Whether a file's bytes hold a private key: PEM (PKCS#8, SEC1, encrypted; a bundle too), PEM
// base64-encoded once more (a Kubernetes Secret's tls.key), or a PKCS#12 file.
bool holds_key_material(const std::string& bytes) {
  if (bytes.find("PRIVATE KEY") != std::string::npos) return true;
  auto is_base64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='; };
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t j = i;
    while (j < bytes.size() && is_base64(bytes[j])) ++j;
    if (j - i >= 64) {
      std::size_t n = (j - i) / 4 * 4;
      std::string decoded(n, '\0');
      int got = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data() + i), static_cast<int>(n));
      if (got > 0 && decoded.find("PRIVATE KEY") != std::string::npos) return true;
    }
    i = j + 1;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ca::pkcs12_ptr p12{d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size()))};
  ERR_clear_error();  // what d2i_PKCS12 said about every file that is not one
  return p12 != nullptr;
}

struct found_file {
  unsigned mode;
  bool key;
  std::string bytes;
};

// Every file under `root` (relative path -> mode, whether it holds a key, contents); a link or a
// special file fails the test.
std::map<std::string, found_file> walk(const fs::path& root) {
  std::map<std::string, found_file> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::string rel = entry.path().lexically_relative(root).string();
    EXPECT_FALSE(entry.is_symlink()) << rel;
    if (entry.is_directory()) {
      out[rel + "/"] = {mode_of(entry.path()), false, {}};
      continue;
    }
    EXPECT_TRUE(entry.is_regular_file()) << rel;
    auto bytes = slurp(entry.path());
    out[rel] = {mode_of(entry.path()), holds_key_material(bytes), bytes};
  }
  return out;
}

// The paths (relative to `dir`) that the manifest says hold a key: the CA's when kept, and every
// service's key, bundle, PKCS#12 and Kubernetes Secret.
std::set<std::string> keys_in_manifest(const fs::path& dir) {
  auto m = read_json(dir / "manifest.json");
  std::set<std::string> out;
  if (m["ca"]["key_file"].is_string()) out.insert(m["ca"]["key_file"].get<std::string>());
  for (const auto& s : m["services"])
    for (const char* kind : {"key", "bundle", "p12", "kubernetes"})
      if (s["files"].contains(kind)) out.insert(s["files"][kind].get<std::string>());
  return out;
}

// What a test expects of the keys under `root` when DIR (root/tls) is a tlsfix directory: the
// files holding a key are exactly those its manifest lists as keys, each 0600 and recorded as such.
void ExpectKeysOnlyWhereTheManifestSays(const fs::path& root, const std::string& when) {
  auto dir = root / "tls";
  auto expected = keys_in_manifest(dir);
  std::map<std::string, std::string> recorded;
  auto manifest = read_json(dir / "manifest.json");
  for (const auto& f : manifest["files"]) recorded[f["path"].get<std::string>()] = f["mode"].get<std::string>();
  std::set<std::string> found;
  for (const auto& [rel, f] : walk(root)) {
    if (!f.key) continue;
    auto in_dir = fs::path(rel).lexically_relative("tls").string();
    EXPECT_TRUE(expected.count(in_dir)) << when << ": " << rel << " holds a key the manifest does not list as one";
    EXPECT_EQ(f.mode, 0600u) << when << ": " << rel;
    EXPECT_EQ(recorded[in_dir], "0600") << when << ": " << rel;
    found.insert(in_dir);
  }
  EXPECT_EQ(found, expected) << when << ": a key the manifest lists is missing or holds none";
}

// Runs the binary under `umask`, with $TMPDIR a fresh directory of its own, which must be empty
// afterwards; `limit_bytes` > 0 also caps the size of any file it writes (RLIMIT_FSIZE, with
// SIGXFSZ ignored, so that the write fails with EFBIG: a disk that fills up part way).
test::run_result run_tlsfix(const fs::path& tmpdir, const std::string& umask, std::vector<std::string> args,
                            long limit_bytes = 0) {
  fs::create_directories(tmpdir);
  std::vector<std::string> argv{"/bin/sh", "-c", "umask " + umask + " && trap '' XFSZ && exec \"$@\"", "sh"};
  if (limit_bytes > 0) argv.insert(argv.end(), {"prlimit", "--fsize=" + std::to_string(limit_bytes)});
  argv.push_back(TLSFIX_EXE);
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run(argv, {{"TMPDIR", tmpdir.string()}});
  EXPECT_TRUE(fs::is_empty(tmpdir)) << "the run left files in $TMPDIR";
  return r;
}

const char* const spec_text =
    "services:\n"
    "  - name: api.test.local\n"
    "    names: [\"*.api.test.local\"]\n"
    "    ips: [127.0.0.1]\n"
    "    clients: [worker.test.local]\n"
    "    p12_password: changeit\n"
    "  - name: web.test.local\n"
    "  - name: worker.test.local\n"
    "    usage: client\n";

class KeyHygieneTest : public ::testing::TestWithParam<const char*> {
 protected:
  test::temp_dir tmp_;
  fs::path dir_ = tmp_ / "tls";
  fs::path tmpdir_ = tmp_ / "tmpdir";

  void SetUp() override { std::ofstream(tmp_ / "tls.yaml") << spec_text; }
  test::run_result Init() {
    return run_tlsfix(tmpdir_, GetParam(), {"init", dir_.string(), "--spec", (tmp_ / "tls.yaml").string(), "--keep-ca-key"});
  }
  std::vector<std::string> Issue() const {
    return {"issue", dir_.string(), "--service", "db.test.local", "--client", "batch.test.local", "--p12-password", "pw"};
  }
};

TEST_P(KeyHygieneTest, KeysAreOnlyWhereTheManifestSaysAnd0600) {
  auto r = Init();
  ASSERT_EQ(r.exit_status, 0) << r;
  ExpectKeysOnlyWhereTheManifestSays(tmp_.path(), "after init");
  r = run_tlsfix(tmpdir_, GetParam(), Issue());
  ASSERT_EQ(r.exit_status, 0) << r;
  ExpectKeysOnlyWhereTheManifestSays(tmp_.path(), "after issue");
  // ca.key; key.pem, service.pem and a Kubernetes Secret for each of 5 services; 3 with a .p12.
  EXPECT_EQ(keys_in_manifest(dir_).size(), 1u + 5 * 3 + 3);
  for (const auto& [rel, f] : walk(dir_)) {
    if (!rel.ends_with("/")) continue;
    EXPECT_EQ(f.mode, 0700u) << rel;
  }
}

// Each cap on the file size stops one of init's or issue's writes part way, at a different file
// each: the run fails and leaves the directory as it was (for init: no directory), with no
// partial file and no key anywhere but where the manifest says. The sizes span the smallest file
// (a key) to the largest (the manifest), so that some runs fail after keys were written.
TEST_P(KeyHygieneTest, AWriteThatFailsPartWayLeavesNoPartialFileAndNoKey) {
  const std::vector<long> limits{200, 500, 1000, 1500, 2000, 3000, 4000, 6000, 9000, 12000};
  std::set<std::string> failures;
  for (long limit : limits) {
    auto r = run_tlsfix(tmpdir_, GetParam(), {"init", dir_.string(), "--spec", (tmp_ / "tls.yaml").string(), "--keep-ca-key"}, limit);
    if (r.exit_status == 0) {
      fs::remove_all(dir_);
      continue;
    }
    EXPECT_EQ(r.exit_status, 1) << r;
    EXPECT_THAT(r.output, HasSubstr("File too large")) << r;
    failures.insert(r.output);
    std::set<std::string> left;
    for (const auto& entry : fs::directory_iterator(tmp_.path())) left.insert(entry.path().filename().string());
    EXPECT_EQ(left, (std::set<std::string>{"tls.yaml", "tmpdir"})) << "init capped at " << limit << " bytes";
  }
  EXPECT_GE(failures.size(), 3u) << "the caps should stop init at different files";

  ASSERT_EQ(Init().exit_status, 0);
  auto before = walk(tmp_.path());
  // Files are written a certificate first, then its key: a cap above both stops a run that has
  // already written a key.
  auto key_written = fs::file_size(dir_ / "api.test.local/cert.pem") + fs::file_size(dir_ / "api.test.local/key.pem");
  int failed_after_a_key = 0;
  bool issued = false;
  failures.clear();
  for (long limit : limits) {
    auto r = run_tlsfix(tmpdir_, GetParam(), Issue(), limit);
    std::string when = "issue capped at " + std::to_string(limit) + " bytes";
    if (r.exit_status == 0) {  // every larger cap would succeed too
      issued = true;
      break;
    }
    EXPECT_EQ(r.exit_status, 1) << when << ": " << r;
    EXPECT_THAT(r.output, HasSubstr("File too large")) << when << ": " << r;
    failures.insert(r.output);
    failed_after_a_key += static_cast<std::uintmax_t>(limit) > key_written ? 1 : 0;
    auto after = walk(tmp_.path());
    for (const auto& [rel, f] : after) {
      auto was = before.find(rel);
      EXPECT_TRUE(was != before.end()) << when << ": left " << rel;
      if (was != before.end()) {
        EXPECT_EQ(f.bytes, was->second.bytes) << when << ": changed " << rel;
        EXPECT_EQ(f.mode, was->second.mode) << when << ": mode of " << rel;
      }
    }
    EXPECT_EQ(after.size(), before.size()) << when << ": something is missing";
    ExpectKeysOnlyWhereTheManifestSays(tmp_.path(), when);
  }
  EXPECT_GE(failures.size(), 3u) << "the caps should stop issue at different files";
  EXPECT_GE(failed_after_a_key, 2);
  // Nothing a failed run left blocks the next one.
  if (!issued) {
    auto r = run_tlsfix(tmpdir_, GetParam(), Issue());
    EXPECT_EQ(r.exit_status, 0) << r;
  }
  EXPECT_EQ(read_json(dir_ / "manifest.json")["services"].size(), 5u);
  ExpectKeysOnlyWhereTheManifestSays(tmp_.path(), "after the uncapped issue");
}

INSTANTIATE_TEST_SUITE_P(Umask, KeyHygieneTest, ::testing::Values("000", "022"),
                         [](const auto& param_info) { return std::string("umask") + param_info.param; });

// The library's own write path: issued_cert::write_to (and ca::write_file under it) makes key
// files 0600 and directories 0700 whatever the umask, and leaves no temporary file beside them.
TEST(KeyHygieneLibraryTest, WriteToGivesKeys0600UnderAnyUmask) {
  auto authority = ca::certificate_authority::create();
  auto cert = authority.issue("service.test.local");
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
    test::temp_dir tmp;
    mode_t old = ::umask(mask);
    cert.write_to(tmp / "out");
    ::umask(old);
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(tmp / "out")) names.insert(entry.path().filename().string());
    EXPECT_EQ(names, (std::set<std::string>{"bundle.pem", "ca.crt", "cert.pem", "fullchain.pem", "key.pem"}));
    EXPECT_EQ(mode_of(tmp / "out"), 0700u);
    for (const auto& [name, f] : walk(tmp / "out"))
      EXPECT_EQ(f.mode, f.key ? 0600u : 0644u) << name << " under umask 0" << std::oct << mask;
  }
}

}  // namespace
