#include "owcore/redis/client_cache.hpp"

namespace owcore::redis {

std::shared_ptr<client> client_cache::get(const client_key& key,
                                          const std::function<client_options()>& make) {
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  auto c = make_client(ex_, make());
  c->start();
  clients_.emplace(key, c);
  return c;
}

std::size_t client_cache::size() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

void client_cache::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [key, c] : clients_) c->stop();
}

}  // namespace owcore::redis
