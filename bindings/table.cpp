// PLACEHOLDER: replaced by the Table binding.
#include "common.hpp"
namespace nl::bind {
int open_table(lua_State* L) { lua_newtable(L); return 1; }
}
