#include "support/tls_certs.hpp"

#include <sys/wait.h>

#include <fstream>
#include <stdexcept>
#include <vector>

#include "support/process.hpp"

namespace owcore::test {
namespace {

void run_openssl(std::vector<std::string> args, const std::filesystem::path& log) {
  args.insert(args.begin(), "openssl");
  process p(args, log);
  const auto status = p.wait_for_exit(std::chrono::seconds(30));
  if (!status) p.kill();
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw std::runtime_error(with_log_tail("openssl " + args[1] + " failed", log));
}

std::vector<std::string> new_ec_key_request(const std::filesystem::path& key,
                                            const std::filesystem::path& csr,
                                            const std::string& subject) {
  return {"req",       "-new",  "-newkey", "ec",      "-pkeyopt",   "ec_paramgen_curve:prime256v1",
          "-nodes",    "-subj", subject,   "-keyout", key.string(), "-out",
          csr.string()};
}

}  // namespace

tls_files make_tls_files(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto log = dir / "openssl.log";
  tls_files f;
  f.ca_cert = dir / "ca.pem";
  f.ca_key = dir / "ca.key";
  f.server_cert = dir / "server.pem";
  f.server_key = dir / "server.key";
  f.client_cert = dir / "client.pem";
  f.client_key = dir / "client.key";
  f.client_key_encrypted = dir / "client-encrypted.key";
  f.client_combined = dir / "client-combined.pem";

  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-days", "1", "-subj", "/CN=owcore test CA", "-keyout", f.ca_key.string(),
               "-out", f.ca_cert.string()},
              log);
  const auto ext = dir / "server-ext.cnf";
  {
    std::ofstream out(ext);
    out << "subjectAltName=IP:127.0.0.1\n";
  }
  const auto sign = [&](const std::filesystem::path& csr, const std::filesystem::path& cert,
                        const std::filesystem::path* extfile) {
    std::vector<std::string> args{"x509",
                                  "-req",
                                  "-in",
                                  csr.string(),
                                  "-CA",
                                  f.ca_cert.string(),
                                  "-CAkey",
                                  f.ca_key.string(),
                                  "-CAcreateserial",
                                  "-days",
                                  "1",
                                  "-out",
                                  cert.string()};
    if (extfile) args.insert(args.end(), {"-extfile", extfile->string()});
    run_openssl(std::move(args), log);
  };
  run_openssl(new_ec_key_request(f.server_key, dir / "server.csr", "/CN=127.0.0.1"), log);
  sign(dir / "server.csr", f.server_cert, &ext);
  run_openssl(new_ec_key_request(f.client_key, dir / "client.csr", "/CN=owcore test client"), log);
  sign(dir / "client.csr", f.client_cert, nullptr);
  run_openssl({"pkey", "-in", f.client_key.string(), "-aes256", "-passout",
               "pass:" + f.client_key_password, "-out", f.client_key_encrypted.string()},
              log);
  {
    std::ofstream out(f.client_combined);
    out << std::ifstream(f.client_cert).rdbuf() << std::ifstream(f.client_key).rdbuf();
    if (!out) throw std::runtime_error("cannot write " + f.client_combined.string());
  }
  return f;
}

std::string rediss_query(const tls_files& files, bool client_cert) {
  std::string q = "ssl_ca_certs=" + files.ca_cert.string();
  if (client_cert)
    q +=
        "&ssl_certfile=" + files.client_cert.string() + "&ssl_keyfile=" + files.client_key.string();
  return q;
}

}  // namespace owcore::test
