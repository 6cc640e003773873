#pragma once

#include <string>
#include <string_view>

namespace mediapath::net {

/// Writes `content` to `path` so that readers see either the old file or the whole new one:
/// a temporary file in the same directory, fsync, rename over `path`, fsync of the directory.
/// Throws std::system_error naming the path on failure; the temporary file is removed.
void writeFileAtomically(const std::string& path, std::string_view content, unsigned mode = 0644);

/// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns 0, or the errno of the
/// write that failed.
int writeAll(int fd, std::string_view data);

/// Reads a whole file. Throws std::system_error naming the path on failure.
std::string readFile(const std::string& path);

}  // namespace mediapath::net
