#include "owcore/coord/shared/redis_shared_dict_scripts.hpp"

namespace owcore::coord::shared::scripts {

const std::string& heartbeat_script() {
  static const std::string s = std::string(member_scanner) + std::string(heartbeat_body);
  return s;
}

const std::string& erase_stale_script() {
  static const std::string s = std::string(member_scanner) + std::string(erase_stale_body);
  return s;
}

}  // namespace owcore::coord::shared::scripts
