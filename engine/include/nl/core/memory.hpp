// nl/core/memory.hpp: the memory budget every reader checks before it allocates.
//
// Bytes a single load (an image, a table) may allocate; readers check their estimate
// against it before allocating and refuse with a FileError naming the file (NIfTI:
// nl::load_volume; CSV/TSV: nl::read_table, nl::parse_table). Default: the machine's
// physical memory. Set 0 to restore the default. (Also declared in nl/image/image.hpp, where
// image code has always found it.)
#pragma once

#include <cstdint>
#include <string>

namespace nl {

std::uint64_t memory_budget() noexcept;
void set_memory_budget(std::uint64_t bytes) noexcept;
// A ceiling the budget cannot exceed (neurolua --max-memory; 0: none). The host sets it
// once; nl.memory_budget refuses a budget above it.
void set_memory_ceiling(std::uint64_t bytes) noexcept;
std::uint64_t memory_ceiling() noexcept;
// "1.5 GB", "512 bytes": a byte count for messages (binary units).
std::string format_bytes(double bytes);

}  // namespace nl
