// fuzz_model.cpp: the model-file reader (nl/io/serial.hpp's container and the CVResult
// payload decoder behind nl.cv.load) on arbitrary bytes.
//
// Odd first byte: the rest is a whole file, checked by open_container (magic, kind,
// version, length, CRC) and, when it passes, decoded as its version. Even first byte:
// the rest is a payload handed straight to decode_result as format version
// 1 + (byte / 2) % 4, so the fuzzer explores the payload's structure of every version
// without having to forge a CRC-32.
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "nl/core/core.hpp"
#include "nl/ml/nested_cv.hpp"
#include "nl/io/serial.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nl::fuzz::setup();
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (data[0] & 1) {
      std::uint32_t version = 0;
      const std::string payload = nl::open_container(bytes, "<fuzz>", "cvresult", 4, version);
      (void)nl::ml::decode_result(payload, "<fuzz>", version);
    } else {
      (void)nl::ml::decode_result(bytes, "<fuzz>", 1 + (data[0] / 2) % 4);
    }
  } catch (const nl::Error&) {
  }
  return 0;
}
