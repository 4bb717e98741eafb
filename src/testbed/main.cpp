// owcore-testbed: the owcore program with the project's test and benchmark Socket.IO profiles
// (testbed_profiles.hpp) registered beside the production ones. Used by tests and bench only.
#include "owcore/app/cli.hpp"
#include "testbed/testbed_profiles.hpp"

int main(int argc, char** argv) { return owcore::app::run_cli(argc, argv, owcore::testbed::profiles()); }
