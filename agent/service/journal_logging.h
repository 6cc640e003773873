#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace mediapath::agent {

/// Whether stderr is a stream systemd connected to the journal: $JOURNAL_STREAM names its
/// "DEVICE:INODE", and stderr must still be that stream (a wrapper or `2>file` in ExecStart=
/// keeps the variable but changes the stream — then the human format is right again).
bool stderrIsJournal();

/// The agent's stderr logger. For the journal every line starts with its sd-daemon priority
/// ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug; see sd-daemon(3)) and carries no
/// timestamp or colour (journald adds its own); otherwise "TIME LEVEL message", coloured on a
/// terminal. Either way control bytes in a message are shown as \xNN: one call, one line.
std::shared_ptr<spdlog::logger> makeStderrLogger(const std::string& name, bool journal);

}  // namespace mediapath::agent
