#include "owcore/http/task_routes.hpp"

#include "owcore/http/auth.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace owcore::http {

namespace json = boost::json;

namespace {

response error_json(const request& req, bhttp::status status, std::string detail) {
  return json_response(req, status, json::serialize(json::object{{"detail", std::move(detail)}}));
}

json::array to_array(const std::vector<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.emplace_back(id);
  return a;
}

constexpr double max_sleep_seconds = 24 * 3600;

}  // namespace

void add_task_routes(router& r, std::shared_ptr<coord::identity::identity_service> auth,
                     std::shared_ptr<coord::tasks::task_service> tasks) {
  r.add(bhttp::verb::get, "/api/tasks", [auth, tasks](const request& req) -> net::awaitable<response> {
    auto who = co_await authenticate(req, *auth, true);
    if (auto* res = std::get_if<response>(&who)) co_return std::move(*res);
    auto ids = co_await tasks->list();
    if (!ids) co_return error_json(req, bhttp::status::service_unavailable, "task registry unavailable");
    co_return json_response(req, bhttp::status::ok, json::serialize(json::object{{"tasks", to_array(*ids)}}));
  });

  r.add_prefix(bhttp::verb::post, "/api/tasks/stop/", [auth, tasks](const request& req) -> net::awaitable<response> {
    auto who = co_await authenticate(req, *auth, true);
    if (auto* res = std::get_if<response>(&who)) co_return std::move(*res);
    auto id = path_param(req, "/api/tasks/stop/");
    if (!id || !coord::auth::check_claim_text(*id))
      co_return error_json(req, bhttp::status::not_found, "Task not found");
    auto outcome = co_await tasks->stop_task(*id);
    if (!outcome) co_return error_json(req, bhttp::status::service_unavailable, "task registry unavailable");
    if (*outcome == coord::tasks::stop_outcome::not_found)
      co_return error_json(req, bhttp::status::not_found, "Task not found");
    co_return json_response(req, bhttp::status::ok,
                            json::serialize(json::object{{"status", true}, {"message", "Task " + *id + " stopped."}}));
  });

  r.add_prefix(bhttp::verb::get, "/api/tasks/chat/", [auth, tasks](const request& req) -> net::awaitable<response> {
    auto who = co_await authenticate(req, *auth, false);
    if (auto* res = std::get_if<response>(&who)) co_return std::move(*res);
    auto chat = path_param(req, "/api/tasks/chat/");
    if (!chat || !coord::auth::check_claim_text(*chat))
      co_return json_response(req, bhttp::status::ok, R"({"task_ids":[]})");
    auto ids = co_await tasks->list_by_item(*chat);
    if (!ids) co_return error_json(req, bhttp::status::service_unavailable, "task registry unavailable");
    co_return json_response(req, bhttp::status::ok, json::serialize(json::object{{"task_ids", to_array(*ids)}}));
  });

  r.add(bhttp::verb::post, "/api/owcore/tasks", [auth, tasks](const request& req) -> net::awaitable<response> {
    auto who = co_await authenticate(req, *auth, true);
    if (auto* res = std::get_if<response>(&who)) co_return std::move(*res);
    boost::system::error_code ec;
    auto body = json::parse(req.body(), ec);
    if (ec || !body.is_object()) co_return error_json(req, bhttp::status::bad_request, "body must be a JSON object");
    const auto& o = body.as_object();
    auto kind = o.if_contains("kind");
    auto secs = o.if_contains("seconds");
    auto item = o.if_contains("item_id");
    if (!kind || !kind->is_string() || kind->as_string() != "sleep")
      co_return error_json(req, bhttp::status::bad_request, "kind must be \"sleep\"");
    double seconds = 0;
    if (secs && secs->is_int64()) seconds = static_cast<double>(secs->as_int64());
    else if (secs && secs->is_uint64()) seconds = static_cast<double>(secs->as_uint64());
    else if (secs && secs->is_double()) seconds = secs->as_double();
    else co_return error_json(req, bhttp::status::bad_request, "seconds must be a number");
    if (!(seconds >= 0 && seconds <= max_sleep_seconds))
      co_return error_json(req, bhttp::status::bad_request, "seconds must be between 0 and 86400");
    std::string item_id;
    if (item) {
      if (!item->is_string() || !coord::auth::check_claim_text(item->as_string()))
        co_return error_json(req, bhttp::status::bad_request, "item_id must be a non-empty string without spaces");
      item_id = item->as_string();
    }
    auto body_fn = [seconds]() -> net::awaitable<void> {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(seconds)));
      co_await t.async_wait(boost::asio::use_awaitable);  // a stop cancels this wait
    };
    auto id = co_await tasks->create(item_id, body_fn);
    if (!id) co_return error_json(req, bhttp::status::service_unavailable, "cannot register the task: " + id.error().message());
    co_return json_response(req, bhttp::status::ok, json::serialize(json::object{{"task_id", *id}}));
  });
}

}  // namespace owcore::http
