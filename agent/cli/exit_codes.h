#pragma once

namespace mediapath::agent {

// The CLI's exit-code contract (DESIGN.md "Command line"); scripts depend on it.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  ///< the operation ran and failed (probe failed, API refused)
inline constexpr int kExitUsage = 2;   ///< bad usage or invalid configuration

}  // namespace mediapath::agent
