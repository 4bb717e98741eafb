#pragma once
// WEBUI_SECRET_KEY resolution, like Open WebUI's start script: when the variable is unset, a
// random key is generated once, kept in $DATA_DIR/.webui_secret_key and reused on later starts.

#include <string>

namespace owcore::app {

/// The outcome of resolving the secret key.
struct secret_key {
  std::string value;         ///< the key to sign with; empty only when `error` is set
  std::string file;          ///< the key file used, empty when WEBUI_SECRET_KEY was set
  bool generated = false;    ///< true when this call created the key file
  std::string error;         ///< why no key could be obtained (unwritable DATA_DIR, ...)
};

/// `configured` (WEBUI_SECRET_KEY) wins when non-empty. Otherwise reads the key file in
/// `data_dir`, creating the directory and the file (mode 0600, created exclusively so two
/// processes starting together agree on one key) when it does not exist.
secret_key resolve_secret_key(const std::string& configured, const std::string& data_dir);

}  // namespace owcore::app
