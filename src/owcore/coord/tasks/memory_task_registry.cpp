#include "owcore/coord/tasks/task_registry.hpp"

#include <map>
#include <mutex>
#include <set>

namespace owcore::coord::tasks::detail {
namespace {

using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

class memory_registry final : public task_registry {
 public:
  void start(std::weak_ptr<local_tasks>) override {}
  void stop() override {}

  net::awaitable<error_code> add(std::string id, std::string item) override {
    std::lock_guard lock(mutex_);
    registry_[id] = item;
    if (!item.empty()) items_[item].insert(id);
    co_return error_code{};
  }

  net::awaitable<void> remove(std::string id, std::string item) override {
    std::lock_guard lock(mutex_);
    registry_.erase(id);
    if (auto it = items_.find(item); it != items_.end()) {
      it->second.erase(id);
      if (it->second.empty()) items_.erase(it);
    }
    co_return;
  }

  net::awaitable<result<std::vector<std::string>>> list() override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (auto& [id, item] : registry_) out.push_back(id);
    co_return out;
  }

  net::awaitable<result<std::vector<std::string>>> list_by_item(std::string item) override {
    std::lock_guard lock(mutex_);
    auto it = items_.find(item);
    if (it == items_.end()) co_return std::vector<std::string>{};
    co_return std::vector<std::string>(it->second.begin(), it->second.end());
  }

  net::awaitable<result<stop_outcome>> stop_remote(std::string) override {
    co_return stop_outcome::not_found;  // every task of this backend runs in this process
  }

 private:
  std::mutex mutex_;  ///< guards both maps; never held across a suspension
  std::map<std::string, std::string> registry_;
  std::map<std::string, std::set<std::string>> items_;
};

}  // namespace

std::shared_ptr<task_registry> make_memory_task_registry() {
  return std::make_shared<memory_registry>();
}

}  // namespace owcore::coord::tasks::detail
