// Private helpers for moving bytes between std::string and OpenSSL.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/asn1.h>

#include <string>
#include <string_view>

#include "tlsfix/error.hpp"
#include "tlsfix/ca/handles.hpp"

namespace tlsfix::ca::detail {

inline bio_ptr memory_bio() {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio) throw error::from_openssl("BIO_new", "allocating a memory buffer");
  return bio;
}

// A read-only BIO over `data`; `data` must outlive it.
inline bio_ptr read_bio(std::string_view data) {
  bio_ptr bio{BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))};
  if (!bio) throw error::from_openssl("BIO_new_mem_buf", "reading from memory");
  return bio;
}

inline std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

// DER through the usual two-call i2d idiom, so no OpenSSL-allocated buffer needs freeing.
template <typename T, typename Encode>
std::string to_der(const T* object, Encode encode, const char* call) {
  int length = encode(object, nullptr);
  if (length <= 0) throw error::from_openssl(call, "encoding as DER");
  std::string out(static_cast<size_t>(length), '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(out.data());
  if (encode(object, &cursor) != length) throw error::from_openssl(call, "encoding as DER");
  return out;
}

inline std::string hex(const unsigned char* data, size_t length, bool upper, std::string_view separator) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    if (i != 0) out += separator;
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

// Upper-case hex without separators, as `openssl x509 -serial` prints a serial.
inline std::string serial_hex(const ASN1_INTEGER* serial) {
  bignum_ptr number{ASN1_INTEGER_to_BN(serial, nullptr)};
  if (!number) throw error::from_openssl("ASN1_INTEGER_to_BN", "reading a serial number");
  std::string bytes(static_cast<size_t>(BN_num_bytes(number.get())), '\0');
  BN_bn2bin(number.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  if (bytes.empty()) return "00";
  return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), true, "");
}

}  // namespace tlsfix::ca::detail
