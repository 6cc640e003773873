// Thin entry point: everything else is in mediapath::agent, which the tests link.
#include "agent/cli/cli.h"

int main(int argc, char** argv) { return mediapath::agent::runCli(argc, argv); }
