#include "owcore/app/doctor.hpp"

#include <iostream>

namespace owcore::app {

int run_doctor(int, char**) {
  std::cerr << "owcore doctor: being written\n";
  return 2;
}

}  // namespace owcore::app
