#include "owcore/app/cli.hpp"

int main(int argc, char** argv) { return owcore::app::run_cli(argc, argv); }
