// bindings/core/terminal.hpp: the size of the terminal standard output writes to, for
// previews that fit it (tostring(Table)) and the help pager.
#pragma once

#include "core/common.hpp"

namespace nl::bind {

struct TerminalSize {
  int columns = 100;
  int rows = 24;
  bool tty = false;  // standard output is a terminal
};

// From ioctl(TIOCGWINSZ) on standard output when it is a terminal; otherwise (or
// where the terminal reports 0) from $COLUMNS and $LINES when they hold a positive
// number, else 100 columns and 24 rows.
TerminalSize terminal_size() noexcept;

// nl.terminal_size() -> columns, rows, is_tty.
int lua_terminal_size(lua_State* L);

}  // namespace nl::bind
