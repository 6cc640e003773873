// Compiled by tests/layering with LAYERING_HEADER set to one header, linked against one library:
// it builds only when that library may see the header.
#include LAYERING_HEADER
